"""E-mail: an outbox written in the caller's transaction, delivered over SMTP after the commit."""

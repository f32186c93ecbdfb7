"""A buyer's signing link on the demo publisher, without going through approvals and e-mail."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from app.db import utcnow
from app.extensions import db


def open_signing_link(app: Flask, token: str) -> int:
    """Put the demo's signed proposal back to sent, with a live link opened by `token`; its id."""
    from app.orders.models import Order
    from app.workflow.models import SigningLink
    from app.workflow.signing import _hash

    with app.app_context():
        proposal = db.session.scalars(sa.select(Order).order_by(Order.id)).first().proposal
        proposal.status = "sent"
        db.session.add(
            SigningLink(
                proposal_id=proposal.id,
                version_id=proposal.versions[-1].id,
                token_hash=_hash(token),
                sent_to="buyer@example.com",
                expires_at=utcnow() + timedelta(days=1),
            )
        )
        db.session.commit()
        return proposal.id

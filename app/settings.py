"""The publisher's settings as one frozen value, read from the app's config once at start-up.

`create_app` checks the config, then builds `Settings` and keeps it on the app; views and CLI
commands read it through `app.extensions.current_settings()` and hand services the values they
need. Services never read the config: a setting is an argument like the acting user and the clock.
The SMTP settings (`app.mail.transport.MailSettings`) and the push outbox's (`app.adserver.outbox.Settings`)
stay with their domains: this module is part of the shared kernel and imports none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Settings:
    publisher_name: str
    #: Path to the image on the cover of proposal PDFs; None: the publisher's name alone.
    publisher_logo: str | None
    time_zone: ZoneInfo
    #: ISO 4217; the default currency of new accounts and rate cards.
    currency: str
    #: Where people reach the app, without a trailing slash: every link in every e-mail starts with it.
    public_url: str
    #: Terms that need no approval; anything else is non-standard to the approval rules.
    standard_terms: str
    signing_link_days: int
    make_good_window_days: int
    safety_margin_pct: int
    hold_days: int
    approval_remind_hours: int
    approval_escalate_hours: int
    page_size: int
    #: Where the solved booked lines are kept on disk for the next process to read; None: not kept.
    inventory_solutions: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """From a config already checked by `create_app` (currency, time zone and public URL are valid)."""
        return cls(
            publisher_name=config["PUBLISHER_NAME"],
            publisher_logo=config.get("PUBLISHER_LOGO") or None,
            time_zone=ZoneInfo(config["PUBLISHER_TIMEZONE"]),
            currency=config["PUBLISHER_CURRENCY"],
            public_url=config["PUBLIC_URL"].rstrip("/"),
            standard_terms=config.get("STANDARD_TERMS", ""),
            signing_link_days=config["SIGNING_LINK_DAYS"],
            make_good_window_days=config["MAKE_GOOD_WINDOW_DAYS"],
            safety_margin_pct=config["SAFETY_MARGIN_PCT"],
            hold_days=config["HOLD_DAYS"],
            approval_remind_hours=config["APPROVAL_REMIND_HOURS"],
            approval_escalate_hours=config["APPROVAL_ESCALATE_HOURS"],
            page_size=config["PAGE_SIZE"],
            inventory_solutions=(config.get("INVENTORY_SOLUTION_DIR") or None)
            if config.get("INVENTORY_STORE_SOLUTIONS")
            else None,
        )

    def day_of(self, moment: datetime) -> date:
        """The publisher's calendar day at `moment` (a day in the publisher's time zone, not in UTC)."""
        return moment.astimezone(self.time_zone).date()

    def link(self, path: str) -> str:
        """An absolute link for an e-mail, from PUBLIC_URL (never from the request's Host header, which
        whoever sends the request chooses)."""
        return f"{self.public_url}{path}"

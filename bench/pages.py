"""Server time of the busiest pages of this step, through the WSGI app (no network)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from app import create_app
from app.extensions import db
from bench.result import Result, p95

ROUNDS = 200
EXTRA_ACCOUNTS = 2_000


def _app(tmp: Path, *, extra_accounts: int = EXTRA_ACCOUNTS, **config):
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / f'bench-{extra_accounts}.sqlite'}",
            "WTF_CSRF_ENABLED": False,
            **config,
        }
    )
    load_demo_publisher(app, extra_accounts=extra_accounts)
    return app


def load_demo_publisher(app, *, extra_accounts: int, hash_method: str | None = None) -> None:
    """Migrate `app`'s empty database and load the demo publisher, with `extra_accounts` more advertisers."""
    import flask_migrate

    from app.accounts.service import AccountData, create_account
    from app.auth.models import User
    from app.db import utcnow
    from app.demo.load import load_demo

    with app.app_context():
        flask_migrate.upgrade()
        now = utcnow()
        load_demo(today=now.date(), now=now, hash_method=hash_method or app.config["PASSWORD_HASH_METHOD"])
        owner = db.session.query(User).filter_by(email="rep@harbour.example").one()
        for n in range(extra_accounts):
            create_account(
                AccountData(
                    kind="advertiser",
                    name=f"Bench advertiser {n:05d}",
                    currency="GBP",
                    owner_id=owner.id,
                    agency_commission_pct=Decimal(0),
                ),
                actor=None,
                now=now,
            )
        db.session.commit()


def _time(client, url: str) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def run(tmp: Path) -> list[Result]:
    app = _app(tmp)
    client = app.test_client()
    client.post("/login", data={"email": "rep@harbour.example", "password": "flightdeck-demo"})
    _time(client, "/accounts/")  # warm caches
    return [
        Result("accounts_list_p95", p95(_time(client, "/accounts/")), "ms", 100, scale=f"{EXTRA_ACCOUNTS} accounts"),
        Result(
            "accounts_search_p95",
            p95(_time(client, "/accounts/?q=advertiser%2001&sort=-updated")),
            "ms",
            100,
            scale=f"{EXTRA_ACCOUNTS} accounts",
        ),
        Result("rep_home_p95", p95(_time(client, "/")), "ms", 100, scale=f"{EXTRA_ACCOUNTS} accounts"),
    ]

"""What `make run` does on a fresh machine: migrate, load the demo once, create the first admin."""

from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa

from app.accounts.models import Account
from app.auth.models import User
from app.catalog.models import AdUnit, TargetingDimension
from app.extensions import db
from app.inventory.models import TrafficDay
from app.roles import Role
from tests.conftest import app_on


@pytest.fixture
def empty_app(backend, databases):
    with app_on(databases.empty(backend)) as application:
        yield application


def test_migrations_go_down_to_nothing_and_up_again(empty_app):
    with empty_app.app_context():
        flask_migrate.upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"users", "accounts", "audit_events", "ad_units", "traffic_days"} <= tables
        flask_migrate.downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert "accounts" in sa.inspect(db.engine).get_table_names()


def test_the_demo_loads_once_into_an_empty_database_and_the_first_admin_is_created(empty_app):
    runner = empty_app.test_cli_runner()
    with empty_app.app_context():
        flask_migrate.upgrade()
    first = runner.invoke(args=["demo", "load", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "Demo publisher loaded" in first.output
    second = runner.invoke(args=["demo", "load", "--if-empty"])
    assert second.exit_code == 0 and "not loaded" in second.output
    refused = runner.invoke(args=["demo", "load"])
    assert refused.exit_code != 0 and "not empty" in refused.output
    created = runner.invoke(
        args=["users", "create", "--email", "boss@harbour.example", "--name", "Boss", "--password", "long-password-1"]
    )
    assert created.exit_code == 0, created.output
    duplicate = runner.invoke(
        args=["users", "create", "--email", "BOSS@harbour.example", "--name", "B", "--password", "long-password-1"]
    )
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    with empty_app.app_context():
        boss = db.session.scalar(sa.select(User).where(User.email == "boss@harbour.example"))
        assert boss.role_set == {Role.ADMIN}
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 8


def test_the_demo_publisher_is_a_realistic_mid_size_publisher(ctx):
    users = db.session.scalars(sa.select(User)).all()
    assert {role for u in users for role in u.role_set} == set(Role)
    kinds = dict(db.session.execute(sa.select(Account.kind, sa.func.count()).group_by(Account.kind)).all())
    assert kinds == {"advertiser": 20, "agency": 5}
    levels = dict(db.session.execute(sa.select(AdUnit.level, sa.func.count()).group_by(AdUnit.level)).all())
    assert levels["site"] == 3 and 28 <= levels["slot"] <= 35
    geo = db.session.scalar(sa.select(TargetingDimension).where(TargetingDimension.key == "geo"))
    device = db.session.scalar(sa.select(TargetingDimension).where(TargetingDimension.key == "device"))
    assert len(geo.values) >= 10 and len(device.values) == 3
    assert sum(v.traffic_share_pct for v in geo.values) == 100
    days = db.session.execute(
        sa.select(
            TrafficDay.ad_unit_id, sa.func.count(), sa.func.min(TrafficDay.day), sa.func.max(TrafficDay.day)
        ).group_by(TrafficDay.ad_unit_id)
    ).all()
    assert len(days) == levels["slot"]
    assert all(count == 365 and (last - first).days == 364 for _, count, first, last in days)
    sample = db.session.scalars(sa.select(TrafficDay).limit(50)).all()
    assert all(sum(t.by_geo.values()) == t.impressions == sum(t.by_device.values()) for t in sample)

"""Users, roles and signing in, against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth import service
from app.auth.models import LoginAttempt, User, UserSession
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.roles import Role
from tests.conftest import DEMO_PASSWORD, DEMO_USERS, now, user

WINDOW = timedelta(minutes=15)


def create(email="new.rep@harbour.example", name="New Rep", password="a-long-password", roles=("sales_rep",)):
    return service.create_user(
        email=email, name=name, password=password, roles=roles, actor=None, now=now(), hash_method="scrypt"
    )


THROTTLE = service.Throttle(max_failures=5, window=WINDOW, max_failures_per_address=20)


def sign_in(email, password, at=None, address="127.0.0.1"):
    return service.authenticate(
        email, password, remote_addr=address, now=at or now(), throttle=THROTTLE, hash_method="pbkdf2:sha256:1000"
    )


def test_a_new_user_gets_a_scrypt_hash_and_an_audit_entry(ctx):
    created = create(email="  New.Rep@Harbour.EXAMPLE ")
    db.session.commit()
    assert created.email == "new.rep@harbour.example"
    assert created.password_hash.startswith("scrypt:")
    assert "a-long-password" not in created.password_hash
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == created.id)
    )
    assert event.action == "created" and event.after["roles"] == ["sales_rep"]
    assert sign_in("new.rep@harbour.example", "a-long-password").id == created.id


def test_a_second_user_with_the_same_email_in_other_case_is_refused(ctx):
    count = db.session.scalar(sa.select(sa.func.count(User.id)))
    with pytest.raises(ValidationFailed) as failure:
        create(email=DEMO_USERS["sales_rep"].upper())
    assert "already exists" in failure.value.errors["email"][0]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == count


def test_every_bad_field_is_reported_at_once(ctx):
    with pytest.raises(ValidationFailed) as failure:
        create(email="", name="x" * 10_000, password="short", roles=["emperor"])
    errors = failure.value.errors
    assert set(errors) == {"email", "name", "password", "roles"}
    assert errors["email"] == ["Enter an e-mail address."]
    assert "at most 120 characters" in errors["name"][0]
    assert "“emperor” is not a role." in errors["roles"]


def test_a_user_may_hold_several_roles(ctx):
    created = create(roles=["sales_rep", "sales_manager", "sales_rep"])
    assert created.role_set == {Role.SALES_REP, Role.SALES_MANAGER}


def test_a_deactivated_user_cannot_sign_in_but_keeps_their_history(ctx):
    admin, rep = user(DEMO_USERS["admin"]), user(DEMO_USERS["sales_rep"])
    token = service.start_session(rep, remote_addr=None, user_agent="test", now=now())
    assert service.session_user(rep.id, token) == rep
    service.set_active(rep, False, actor=admin, now=now())
    db.session.commit()
    assert service.session_user(rep.id, token) is None  # every open session of the rep ends
    with pytest.raises(service.InvalidCredentials):
        sign_in(rep.email, DEMO_PASSWORD)
    assert db.session.get(User, rep.id) is not None
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == rep.id)
    ).all()
    assert "deactivated" in actions


def test_an_admin_cannot_deactivate_themselves_or_drop_their_own_admin_role(ctx):
    admin = user(DEMO_USERS["admin"])
    with pytest.raises(DomainError):
        service.set_active(admin, False, actor=admin, now=now())
    with pytest.raises(ValidationFailed) as failure:
        service.update_user(admin, email=admin.email, name=admin.name, roles=["finance"], actor=admin, now=now())
    assert "own admin role" in failure.value.errors["roles"][0]


def test_sign_in_pauses_after_five_failures_and_resumes_after_the_window(ctx):
    start = now()
    for minute in range(5):
        with pytest.raises(service.InvalidCredentials):
            sign_in(DEMO_USERS["finance"], "wrong password", at=start + timedelta(minutes=minute))
    db.session.commit()
    with pytest.raises(service.SignInThrottled) as throttled:
        # even the right password is refused while paused: it is not checked at all
        sign_in(DEMO_USERS["finance"], DEMO_PASSWORD, at=start + timedelta(minutes=5))
    assert throttled.value.minutes == 10
    assert "try again in 10 minutes" in throttled.value.message
    signed_in = sign_in(DEMO_USERS["finance"], DEMO_PASSWORD, at=start + timedelta(minutes=15, seconds=1))
    assert signed_in.email == DEMO_USERS["finance"]
    attempts = db.session.scalars(sa.select(LoginAttempt.succeeded).where(LoginAttempt.email == DEMO_USERS["finance"]))
    assert list(attempts) == [False] * 5 + [True]


def test_a_success_resets_the_failure_count(ctx):
    start = now()
    for minute in range(4):
        with pytest.raises(service.InvalidCredentials):
            sign_in(DEMO_USERS["ad_ops"], "wrong", at=start + timedelta(seconds=minute))
    sign_in(DEMO_USERS["ad_ops"], DEMO_PASSWORD, at=start + timedelta(seconds=10))
    with pytest.raises(service.InvalidCredentials):  # a fresh failure, not the fifth
        sign_in(DEMO_USERS["ad_ops"], "wrong", at=start + timedelta(seconds=20))


def test_a_password_change_signs_out_the_other_sessions_only(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    here = service.start_session(rep, remote_addr=None, user_agent="desk", now=now())
    elsewhere = service.start_session(rep, remote_addr=None, user_agent="phone", now=now())
    service.change_own_password(
        rep,
        DEMO_PASSWORD,
        "another-long-password",
        session_token=here,
        remote_addr="127.0.0.1",
        now=now(),
        throttle=THROTTLE,
        hash_method="scrypt",
    )
    assert service.session_user(rep.id, here) == rep
    assert service.session_user(rep.id, elsewhere) is None
    assert sign_in(rep.email, "another-long-password").id == rep.id
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == rep.id)
    ).all()
    assert "password changed" in actions


def test_a_wrong_current_password_is_refused_and_counts_towards_the_throttle(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    for _ in range(5):
        with pytest.raises(ValidationFailed) as failure:
            service.change_own_password(
                rep,
                "not it",
                "another-long-password",
                session_token=None,
                remote_addr="127.0.0.1",
                now=now(),
                throttle=THROTTLE,
                hash_method="scrypt",
            )
        assert failure.value.errors["current_password"] == ["That is not your current password."]
    with pytest.raises(ValidationFailed) as failure:
        service.change_own_password(
            rep,
            DEMO_PASSWORD,
            "another-long-password",
            session_token=None,
            remote_addr="127.0.0.1",
            now=now(),
            throttle=THROTTLE,
            hash_method="scrypt",
        )
    assert "Too many failed sign-ins" in failure.value.errors["current_password"][0]


def test_failures_from_elsewhere_do_not_lock_a_user_out_of_their_own_desk(ctx):
    for _ in range(6):
        with pytest.raises((service.InvalidCredentials, service.SignInThrottled)):
            sign_in(DEMO_USERS["finance"], "guess", address="203.0.113.9")
    assert sign_in(DEMO_USERS["finance"], DEMO_PASSWORD, address="127.0.0.1").email == DEMO_USERS["finance"]


def test_one_address_trying_many_emails_is_paused(ctx):
    start = now()
    for n in range(20):
        with pytest.raises(service.InvalidCredentials):
            sign_in(f"guess{n}@harbour.example", "guess", at=start, address="203.0.113.9")
    with pytest.raises(service.SignInThrottled):
        sign_in(DEMO_USERS["finance"], DEMO_PASSWORD, at=start, address="203.0.113.9")


def attempt(at, *, email="someone@harbour.example", address="198.51.100.7", succeeded=False):
    db.session.add(LoginAttempt(email=email, remote_addr=address, at=at, succeeded=succeeded))


def session_row(user_id, *, created_at, ended_at=None):
    row = UserSession(
        token_hash=service._hash_token(str(created_at) + str(ended_at)),
        user_id=user_id,
        created_at=created_at,
        ended_at=ended_at,
        user_agent="pytest",
    )
    db.session.add(row)
    return row


def test_the_purge_deletes_sign_in_attempts_and_ended_sessions_past_the_history_window_and_keeps_the_rest(ctx):
    today = now()
    db.session.execute(sa.delete(LoginAttempt))
    db.session.execute(sa.delete(UserSession))
    attempt(today - timedelta(days=31))
    attempt(today - timedelta(days=30, minutes=1), succeeded=True)
    kept_attempts = [today - timedelta(days=29), today - timedelta(minutes=1)]
    for at in kept_attempts:
        attempt(at)
    rep = user(DEMO_USERS["sales_rep"]).id
    session_row(rep, created_at=today - timedelta(days=40), ended_at=today - timedelta(days=31))
    live_for_long = session_row(rep, created_at=today - timedelta(days=90))
    ended_lately = session_row(rep, created_at=today - timedelta(days=40), ended_at=today - timedelta(days=2))
    db.session.flush()

    purged = service.purge_sign_in_records(
        now=today, keep=timedelta(days=30), throttle_window=WINDOW, session_lifetime=timedelta(days=365)
    )

    assert purged == service.Purged(attempts=2, sessions=1)
    assert sorted(db.session.scalars(sa.select(LoginAttempt.at))) == kept_attempts
    assert set(db.session.scalars(sa.select(UserSession.id))) == {live_for_long.id, ended_lately.id}


def test_the_purge_deletes_sessions_whose_cookie_lapsed_past_the_history_window_without_being_ended(ctx):
    today = now()
    db.session.execute(sa.delete(UserSession))
    rep = user(DEMO_USERS["sales_rep"]).id
    lapsed = session_row(rep, created_at=today - timedelta(days=31 + 30, minutes=1))
    lapsed_lately = session_row(rep, created_at=today - timedelta(days=31 + 29))
    live = session_row(rep, created_at=today - timedelta(days=3))
    db.session.flush()

    purged = service.purge_sign_in_records(
        now=today, keep=timedelta(days=30), throttle_window=WINDOW, session_lifetime=timedelta(days=31)
    )

    assert purged.sessions == 1
    assert set(db.session.scalars(sa.select(UserSession.id))) == {lapsed_lately.id, live.id}
    assert lapsed.id not in set(db.session.scalars(sa.select(UserSession.id)))


def test_the_purge_never_deletes_the_failures_that_still_pause_sign_in(ctx):
    start = now()
    for minute in range(5):
        with pytest.raises(service.InvalidCredentials):
            sign_in(DEMO_USERS["finance"], "wrong password", at=start + timedelta(minutes=minute))
    purged = service.purge_sign_in_records(
        now=start + timedelta(minutes=5), keep=timedelta(0), throttle_window=WINDOW, session_lifetime=timedelta(days=1)
    )
    assert purged.attempts == 0
    with pytest.raises(service.SignInThrottled):
        sign_in(DEMO_USERS["finance"], DEMO_PASSWORD, at=start + timedelta(minutes=5))


def test_flask_auth_purge_deletes_old_records_for_cron_and_says_how_many(app, runner):
    with app.app_context():
        db.session.execute(sa.delete(LoginAttempt))
        attempt(now() - timedelta(days=400))
        attempt(now())
        db.session.execute(sa.delete(UserSession))
        session_row(user(DEMO_USERS["sales_rep"]).id, created_at=now() - timedelta(days=500))  # never ended
        db.session.commit()
    done = runner.invoke(args=["auth", "purge"])
    assert done.exit_code == 0, done.output
    assert "Purged 1 sign-in attempt and 1 ended or lapsed session." in done.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1  # committed


def test_the_per_address_throttle_check_reads_an_index_on_address_and_time(ctx):
    indexes = {tuple(ix["column_names"]) for ix in sa.inspect(db.engine).get_indexes("login_attempts")}
    assert ("remote_addr", "at") in indexes
    if db.engine.dialect.name == "sqlite":
        per_address = sa.select(LoginAttempt.at).where(
            ~LoginAttempt.succeeded, LoginAttempt.remote_addr == "198.51.100.7", LoginAttempt.at > now()
        )
        sql = str(per_address.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row) for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "ix_login_attempts_remote_addr_at" in plan

"""Users: creation, roles, deactivation, passwords and signing in."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit.service import record, record_change
from app.auth.models import LoginAttempt, User, UserRole, UserSession
from app.errors import DomainError, Errors, ValidationFailed
from app.extensions import db
from app.roles import Role
from app.validation import clean_line, line_problem, normalise_email

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


@cache
def _dummy_hash(method: str) -> str:
    """A hash to check when the e-mail is unknown, made with the real method so timing reveals nothing."""
    return generate_password_hash(secrets.token_hex(16), method=method)


@dataclass(frozen=True)
class Throttle:
    """Sign-in limits: per e-mail from one address, and per address over all e-mails."""

    max_failures: int
    window: timedelta
    #: Failures from one address, whatever the e-mail, before that address pauses too.
    max_failures_per_address: int = 50


class InvalidCredentials(DomainError):
    status_code = 200  # shown on the sign-in form, not as an error page

    def __init__(self) -> None:
        super().__init__("That e-mail and password do not match an active account.")


class SignInThrottled(DomainError):
    status_code = 429

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        plural = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-ins for this e-mail. Sign-in is paused: try again in {minutes} {plural}."
        )


def _check_password(password: str, errors: Errors, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.add(field, f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors.add(field, f"Use at most {MAX_PASSWORD_LENGTH} characters.")


def _check_roles(roles: Iterable[Role | str], errors: Errors) -> set[Role]:
    chosen: set[Role] = set()
    for raw in roles:
        try:
            chosen.add(Role(raw))
        except ValueError:
            errors.add("roles", f"“{raw}” is not a role.")
    if not chosen and "roles" not in errors.errors:
        errors.add("roles", "Choose at least one role.")
    return chosen


def _email_taken(email: str, *, other_than: int | None = None) -> bool:
    query = sa.select(User.id).where(sa.func.lower(User.email) == email)
    if other_than is not None:
        query = query.where(User.id != other_than)
    return db.session.scalar(query) is not None


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def _snapshot(user: User) -> dict:
    return {"email": user.email, "name": user.name, "roles": [r.value for r in user.roles], "active": user.active}


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    roles: Iterable[Role | str],
    actor: User | None,
    now: datetime,
    hash_method: str,
) -> User:
    errors = Errors()
    normalised, problem = normalise_email(email)
    if problem:
        errors.add("email", problem)
    elif _email_taken(normalised):
        errors.add("email", f"A user with the e-mail {normalised} already exists.")
    name = clean_line(name)
    if problem := line_problem(name, label="name", max_length=120):
        errors.add("name", problem)
    _check_password(password, errors)
    chosen = _check_roles(roles, errors)
    errors.raise_if_any()

    user = User(
        email=normalised,
        name=name,
        password_hash=generate_password_hash(password, method=hash_method),
        active=True,
        created_at=now,
    )
    user.role_rows = [UserRole(role=r.value) for r in sorted(chosen)]
    db.session.add(user)
    db.session.flush()
    record(
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        action="created",
        at=now,
        summary=f"Created user {user.email} with roles {', '.join(r.label for r in user.roles)}.",
        after=_snapshot(user),
    )
    return user


def update_user(user: User, *, email: str, name: str, roles: Iterable[Role | str], actor: User, now: datetime) -> User:
    errors = Errors()
    normalised, problem = normalise_email(email)
    if problem:
        errors.add("email", problem)
    elif _email_taken(normalised, other_than=user.id):
        errors.add("email", f"A user with the e-mail {normalised} already exists.")
    name = clean_line(name)
    if problem := line_problem(name, label="name", max_length=120):
        errors.add("name", problem)
    chosen = _check_roles(roles, errors)
    if user.id == actor.id and Role.ADMIN in user.role_set and Role.ADMIN not in chosen:
        errors.add("roles", "You cannot remove your own admin role; ask another admin.")
    errors.raise_if_any()

    before = _snapshot(user)
    user.email = normalised
    user.name = name
    current = {r.role: r for r in user.role_rows}
    user.role_rows = [current.get(r.value) or UserRole(role=r.value) for r in sorted(chosen)]
    db.session.flush()
    record_change(actor=actor, entity_type="user", entity_id=user.id, at=now, before=before, after=_snapshot(user))
    return user


def set_active(user: User, active: bool, *, actor: User, now: datetime) -> User:
    if user.id == actor.id and not active:
        raise DomainError("You cannot deactivate yourself; ask another admin.")
    if user.active == active:
        return user
    user.active = active
    if not active:
        end_sessions(user, now=now)
    db.session.flush()
    record(
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        action="reactivated" if active else "deactivated",
        at=now,
        summary=f"{'Reactivated' if active else 'Deactivated'} {user.email}.",
        before={"active": not active},
        after={"active": active},
    )
    return user


def set_password(
    user: User, password: str, *, actor: User | None, now: datetime, hash_method: str, keep_session: str | None = None
) -> None:
    """Set a new password and end the user's sessions (all but `keep_session`, the one making the change)."""
    errors = Errors()
    _check_password(password, errors)
    errors.raise_if_any()
    user.password_hash = generate_password_hash(password, method=hash_method)
    end_sessions(user, now=now, except_token=keep_session)
    db.session.flush()
    record(
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        action="password changed",
        at=now,
        summary="Password changed; other sessions were signed out.",
    )


def _minutes_until(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> int:
    if len(failures) < limit:
        return 0
    # Paused until the window has passed since the failure that reached the limit.
    seconds = (failures[-limit] + window - now).total_seconds()
    return max(1, int(-(-seconds // 60)))


def _throttled_minutes(email: str, remote_addr: str | None, *, now: datetime, throttle: Throttle) -> int:
    """Minutes left before this e-mail may be tried again from this address; 0 when it may now.

    Keyed on e-mail and address, so someone guessing from elsewhere cannot lock a user out of
    their own desk; and on the address alone, so one address cannot try many e-mails.
    """
    since = now - throttle.window
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.remote_addr == remote_addr, LoginAttempt.succeeded
        )
    )
    failures = sa.select(LoginAttempt.at).where(~LoginAttempt.succeeded, LoginAttempt.remote_addr == remote_addr)
    per_email = list(
        db.session.scalars(
            failures.where(LoginAttempt.email == email, LoginAttempt.at > max(since, last_success or since)).order_by(
                LoginAttempt.at
            )
        )
    )
    per_address = list(db.session.scalars(failures.where(LoginAttempt.at > since).order_by(LoginAttempt.at)))
    return max(
        _minutes_until(per_email, throttle.max_failures, throttle.window, now),
        _minutes_until(per_address, throttle.max_failures_per_address, throttle.window, now),
    )


def _check_credentials(
    key: str, password: str, *, remote_addr: str | None, now: datetime, throttle: Throttle, hash_method: str
) -> User:
    minutes = _throttled_minutes(key, remote_addr, now=now, throttle=throttle)
    if minutes:
        raise SignInThrottled(minutes)
    user = user_by_email(key) if key else None
    ok = check_password_hash(user.password_hash if user else _dummy_hash(hash_method), password or "")
    ok = ok and user is not None and user.active
    db.session.add(LoginAttempt(email=key, remote_addr=remote_addr, at=now, succeeded=ok))
    db.session.flush()
    if not ok:
        raise InvalidCredentials()
    return user


def authenticate(
    email: str, password: str, *, remote_addr: str | None, now: datetime, throttle: Throttle, hash_method: str
) -> User:
    """The active user with these credentials; records the attempt either way.

    Raises SignInThrottled, without checking the password, once the limits are reached.
    """
    user = _check_credentials(
        (email or "").strip().lower()[:254],
        password,
        remote_addr=remote_addr,
        now=now,
        throttle=throttle,
        hash_method=hash_method,
    )
    user.last_login_at = now
    db.session.flush()
    return user


def change_own_password(
    user: User,
    current: str,
    new: str,
    *,
    session_token: str | None,
    remote_addr: str | None,
    now: datetime,
    throttle: Throttle,
    hash_method: str,
) -> None:
    """A user's own change: the current password is checked (and throttled) like a sign-in."""
    try:
        _check_credentials(
            user.email, current, remote_addr=remote_addr, now=now, throttle=throttle, hash_method=hash_method
        )
    except InvalidCredentials:
        raise ValidationFailed.on("current_password", "That is not your current password.") from None
    except SignInThrottled as exc:
        raise ValidationFailed.on("current_password", exc.message) from None
    set_password(user, new, actor=user, now=now, hash_method=hash_method, keep_session=session_token)


# -- Sessions ------------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remote_addr: str | None, user_agent: str, now: datetime) -> str:
    """Open a session for `user`; returns the random token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token_hash=_hash_token(token),
            user_id=user.id,
            created_at=now,
            remote_addr=remote_addr,
            user_agent=(user_agent or "")[:300],
        )
    )
    db.session.flush()
    return token


def session_user(user_id: int, token: str | None) -> User | None:
    """The active user whose live session this token is, or None."""
    if not token:
        return None
    live = sa.and_(UserSession.token_hash == _hash_token(token), UserSession.ended_at.is_(None))
    query = sa.select(User).join(UserSession, UserSession.user_id == User.id)
    # Every request asks this: one round trip, roles included (every page checks them).
    query = query.where(User.id == user_id, User.active, live).options(joinedload(User.role_rows))
    return db.session.scalars(query).unique().one_or_none()


def end_session(token: str | None, *, now: datetime) -> None:
    if token:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == _hash_token(token), UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def end_sessions(user: User, *, now: datetime, except_token: str | None = None) -> None:
    query = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if except_token:
        query = query.where(UserSession.token_hash != _hash_token(except_token))
    db.session.execute(query.values(ended_at=now))


@dataclass(frozen=True)
class Purged:
    attempts: int
    sessions: int


def purge_sign_in_records(
    *, now: datetime, keep: timedelta, throttle_window: timedelta, session_lifetime: timedelta
) -> Purged:
    """Delete sign-in attempts, ended sessions older than `keep`, and sessions whose cookie lapsed
    (opened more than `session_lifetime` ago) more than `keep` ago without anyone signing out; live
    sessions stay.

    Attempts the throttle still counts (within `throttle_window`) are kept whatever `keep` says.
    """
    attempts_before = now - max(keep, throttle_window)
    attempts = db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < attempts_before)).rowcount
    ended = sa.and_(UserSession.ended_at.is_not(None), UserSession.ended_at < now - keep)
    lapsed = sa.and_(UserSession.ended_at.is_(None), UserSession.created_at < now - session_lifetime - keep)
    sessions = db.session.execute(sa.delete(UserSession).where(sa.or_(ended, lapsed))).rowcount
    return Purged(attempts=attempts, sessions=sessions)


def users_page_query(search: str = "", *, include_inactive: bool = True) -> sa.Select:
    query = sa.select(User).options(selectinload(User.role_rows)).order_by(User.active.desc(), User.name)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(User.name).like(like), sa.func.lower(User.email).like(like)))
    if not include_inactive:
        query = query.where(User.active)
    return query

"""Users: creation, roles, deactivation, passwords and signing in."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit.service import record, record_change
from app.auth.models import LoginAttempt, User, UserRole
from app.auth.roles import Role
from app.errors import DomainError, Errors
from app.extensions import db
from app.validation import length_problem, normalise_email

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
#: A hash to compare against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("not-a-password", method="pbkdf2:sha256:1000")


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
    if problem := length_problem(name, label="name", max_length=120):
        errors.add("name", problem)
    _check_password(password, errors)
    chosen = _check_roles(roles, errors)
    errors.raise_if_any()

    user = User(
        email=normalised,
        name=name.strip(),
        password_hash=generate_password_hash(password, method=hash_method),
        session_token=secrets.token_hex(8),
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
    if problem := length_problem(name, label="name", max_length=120):
        errors.add("name", problem)
    chosen = _check_roles(roles, errors)
    if user.id == actor.id and Role.ADMIN in user.role_set and Role.ADMIN not in chosen:
        errors.add("roles", "You cannot remove your own admin role; ask another admin.")
    errors.raise_if_any()

    before = _snapshot(user)
    user.email = normalised
    user.name = name.strip()
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
    # A new token ends every session the user has open.
    user.session_token = secrets.token_hex(8)
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


def set_password(user: User, password: str, *, actor: User | None, now: datetime, hash_method: str) -> None:
    errors = Errors()
    _check_password(password, errors)
    errors.raise_if_any()
    user.password_hash = generate_password_hash(password, method=hash_method)
    user.session_token = secrets.token_hex(8)
    db.session.flush()
    record(
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        action="password changed",
        at=now,
        summary="Password changed; other sessions were signed out.",
    )


def _throttled_minutes(email: str, *, now: datetime, max_failures: int, window: timedelta) -> int:
    """Minutes left before `email` may try again, 0 when it may now."""
    since = now - window
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.succeeded)
    )
    if last_success and last_success > since:
        since = last_success
    failures = list(
        db.session.scalars(
            sa.select(LoginAttempt.at)
            .where(LoginAttempt.email == email, ~LoginAttempt.succeeded, LoginAttempt.at > since)
            .order_by(LoginAttempt.at)
        )
    )
    if len(failures) < max_failures:
        return 0
    # Paused until the window has passed since the failure that reached the limit.
    reopens = failures[-max_failures] + window
    seconds = (reopens - now).total_seconds()
    return max(1, int(-(-seconds // 60)))


def authenticate(
    email: str,
    password: str,
    *,
    remote_addr: str | None,
    now: datetime,
    max_failures: int,
    window: timedelta,
) -> User:
    """The active user with these credentials; records the attempt either way.

    Raises SignInThrottled, without checking the password, once the e-mail has failed
    `max_failures` times within `window`.
    """
    key = (email or "").strip().lower()[:254]
    minutes = _throttled_minutes(key, now=now, max_failures=max_failures, window=window)
    if minutes:
        raise SignInThrottled(minutes)
    user = user_by_email(key) if key else None
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = ok and user is not None and user.active
    db.session.add(LoginAttempt(email=key, remote_addr=remote_addr, at=now, succeeded=ok))
    if not ok:
        db.session.flush()
        raise InvalidCredentials()
    user.last_login_at = now
    db.session.flush()
    return user


def users_page_query(search: str = "", *, include_inactive: bool = True) -> sa.Select:
    query = sa.select(User).order_by(User.active.desc(), User.name)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(User.name).like(like), sa.func.lower(User.email).like(like)))
    if not include_inactive:
        query = query.where(User.active)
    return query

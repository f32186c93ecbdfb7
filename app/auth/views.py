from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.access import allow, public
from app.auth import service
from app.auth.forms import ChangeOwnPasswordForm, LoginForm, NewUserForm, SetPasswordForm, UserForm
from app.auth.models import User
from app.boundary import keep_writes_on_error
from app.db import utcnow
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import current_settings, db
from app.forms import form_sent_before, redirect_to_created, show_errors
from app.roles import Role
from app.routing import safe_next
from app.transaction import abandon
from app.validation import page_number, parse_id

bp = Blueprint("auth", __name__)


#: Key of the session id in the (signed) session cookie.
SESSION_KEY = "sid"


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user only while their server-side session is live."""
    uid = parse_id(user_id)
    return service.session_user(uid, session.get(SESSION_KEY)) if uid else None


def _throttle() -> service.Throttle:
    config = current_app.config
    return service.Throttle(
        max_failures=config["LOGIN_MAX_FAILURES"],
        window=config["LOGIN_FAILURE_WINDOW"],
        max_failures_per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
    )


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    return safe_next(target, url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            now = utcnow()
            user = service.authenticate(
                form.email.data,
                form.password.data,
                remote_addr=request.remote_addr,
                now=now,
                throttle=_throttle(),
                hash_method=current_app.config["PASSWORD_HASH_METHOD"],
            )
            token = service.start_session(
                user, remote_addr=request.remote_addr, user_agent=request.user_agent.string, now=now
            )
        except service.InvalidCredentials as exc:  # answered 200: the failed attempt is committed and counts
            form.password.errors = [exc.message]
        except service.SignInThrottled as exc:
            form.form_errors.append(exc.message)
            status = 429
        else:
            session.clear()
            session.permanent = True
            session[SESSION_KEY] = token
            login_user(user)
            flash(f"Signed in as {user.name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@allow()
def logout():
    service.end_session(session.get(SESSION_KEY), now=utcnow())
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/me/password", methods=["GET", "POST"])
@allow()
def change_own_password():
    form = ChangeOwnPasswordForm()
    if form.validate_on_submit():
        try:
            service.change_own_password(
                current_user,
                form.current_password.data or "",
                form.password.data or "",
                session_token=session.get(SESSION_KEY),
                remote_addr=request.remote_addr,
                now=utcnow(),
                throttle=_throttle(),
                hash_method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except ValidationFailed as exc:
            keep_writes_on_error()  # answered 400, but a wrong current password counts towards the throttle
            show_errors(form, exc)
        else:
            flash("Password changed. Your other sessions were signed out.", "success")
            return redirect(url_for("home.index"))
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200


# -- Admin: users ---------------------------------------------------------------------------------


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


@bp.route("/admin/users")
@allow(Role.ADMIN)
def users():
    search = request.args.get("q", "").strip()[:100]
    page = db.paginate(
        service.users_page_query(search),
        page=page_number(request.args),
        per_page=current_settings().page_size,
        error_out=False,
    )
    return render_template("auth/users.html", page=page, search=search)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new_user():
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(
                email=form.email.data or "",
                name=form.name.data or "",
                password=form.password.data or "",
                roles=form.roles.data or [],
                actor=current_user,
                now=utcnow(),
                hash_method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            flash(f"Created {user.name} ({user.email}).", "success")
            return redirect_to_created(url_for("auth.edit_user", user_id=user.id))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_user(user_id: int):
    user = _user_or_404(user_id)
    form = UserForm(obj=None if request.method == "POST" else user)
    if request.method == "GET":
        form.roles.data = [r.value for r in user.roles]
    if form.validate_on_submit():
        try:
            service.update_user(
                user,
                email=form.email.data or "",
                name=form.name.data or "",
                roles=form.roles.data or [],
                actor=current_user,
                now=utcnow(),
            )
        except ValidationFailed as exc:
            abandon(db.session)
            show_errors(form, exc)
        else:
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("auth.edit_user", user_id=user.id))
    return render_template("auth/user_form.html", form=form, user=user, password_form=SetPasswordForm(prefix="pw"))


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@allow(Role.ADMIN)
def set_user_active(user_id: int):
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        service.set_active(user, active, actor=current_user, now=utcnow())
    except DomainError as exc:
        abandon(db.session)
        flash(exc.message, "danger")
    else:
        flash(f"{user.name} is {'active again' if active else 'deactivated and signed out'}.", "success")
    return redirect(url_for("auth.edit_user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@allow(Role.ADMIN)
def set_user_password(user_id: int):
    user = _user_or_404(user_id)
    form = SetPasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            service.set_password(
                user,
                form.password.data or "",
                actor=current_user,
                now=utcnow(),
                hash_method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            flash(f"New password set for {user.name}; their sessions were signed out.", "success")
            return redirect(url_for("auth.edit_user", user_id=user.id))
    user_form = UserForm(obj=user)
    user_form.roles.data = [r.value for r in user.roles]
    return render_template("auth/user_form.html", form=user_form, user=user, password_form=form), 400

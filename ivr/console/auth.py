"""Who may use the console: Flask-Login sessions, CSRF on every form, safe cookies, lockout, login."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response as BaseResponse

from ivr import clock
from ivr.console.pages import bp
from ivr.store import accounts
from ivr.store import extension as store
from ivr.store.accounts import User

login_manager = LoginManager()
csrf = CSRFProtect()
OPEN = ("console.login", "console.static")  # the only console endpoints a stranger reaches
WRONG = "名前またはパスワードが違います。"
LOCKED = (
    "パスワードを続けて間違えたため、このアカウントは一時的にロックされています。"
    "しばらくしてからお試しください。"
)


class Session(UserMixin):  # type: ignore[misc]
    """A signed-in console user, as Flask-Login holds it."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        """The session's user id: the name."""
        return self.user.name


class ConsoleSessions(SecureCookieSessionInterface):
    """Sessions only where their cookie is sent (under /console): Twilio's webhooks never open one."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The console's signed cookie session; elsewhere an empty one that cannot be written."""
        if not request.path.startswith(self.get_cookie_path(app)):
            return self.make_null_session(app)  # a webhook skips the serializer and the cookie lookup
        return super().open_session(app, request)


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load(name: str) -> Session | None:
    """The user behind a session, again from the store (a removed user is signed out at once)."""
    found = accounts.get(store.engine(), name)
    return Session(found) if found else None


@bp.before_request
def guard() -> BaseResponse | None:
    """Nothing of the console without a login; every POST carries the form's CSRF token."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    if request.endpoint in OPEN or current_user.is_authenticated:
        return None
    if request.headers.get("HX-Request"):  # a live panel after the session ended: the whole page to login
        return Response(status=401, headers={"HX-Redirect": url_for("console.login")})
    result: BaseResponse = login_manager.unauthorized()
    return result


def _safe_next(target: str | None) -> str:
    target = target or ""
    parts = urlsplit(target)
    printable = target.isascii() and target.isprintable()  # no CR or LF into the Location header
    if printable and not parts.scheme and not parts.netloc and parts.path.startswith("/console"):
        return target
    return url_for("console.now")


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | str:
    """The login form; five wrong passwords in a row lock the account, every attempt is journaled."""
    if request.method == "GET":
        return render_template("console/login.html", error=None, name="")
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")
    engine, now = store.engine(), clock.now()
    user, outcome = accounts.authenticate(engine, now, name, password)
    where = f"from {request.remote_addr or '-'}"
    if user is not None:
        login_user(Session(user))
        accounts.note(engine, now, name, "login", where)
        return redirect(_safe_next(request.args.get("next")))
    if outcome == "unknown":
        accounts.note(engine, now, "(unknown)", "login-failed", f"no such user {where}")
    elif outcome == "locked-now":
        accounts.note(engine, now, name, "locked", f"{accounts.MAX_FAILURES} wrong passwords {where}")
    else:
        accounts.note(engine, now, name, "login-failed", f"{outcome} {where}")
    error = LOCKED if outcome in ("locked", "locked-now") else WRONG
    return render_template("console/login.html", error=error, name=name), 401


@bp.post("/logout")
def logout() -> BaseResponse:
    """Sign out (a POST with the CSRF token, so no other site can sign anyone out)."""
    accounts.note(store.engine(), clock.now(), current_user.user.name, "logout")
    logout_user()
    return redirect(url_for("console.login"))


@bp.errorhandler(CSRFError)
def refused(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: refused, with a way back."""
    message = "フォームの有効期限が切れました。ページを再読み込みしてから、もう一度お試しください。"
    return render_template("console/error.html", code=400, message=message), 400


@bp.errorhandler(403)
def forbidden(_error: Exception) -> tuple[str, int]:
    """A page this user's role may not open."""
    return render_template("console/error.html", code=403, message="このページを開く権限がありません。"), 403


def init_app(app: Flask) -> None:
    """Sessions, CSRF (checked on the console's own forms only: Twilio's webhooks keep their signatures)."""
    secure = bool(app.config["IVR_COOKIE_SECURE"])
    app.config.update(
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/console",
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,  # guard() checks the console's POSTs; /voice/* is never touched
        WTF_CSRF_TIME_LIMIT=None,  # the page stays open all day; the token lives as long as the session
    )
    login_manager.login_view = "console.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.session_protection = "strong"
    app.session_interface = ConsoleSessions()
    login_manager.init_app(app)
    # Its remember-cookie hook reads the session, which only the console's requests have: run it there only.
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)
    app.after_request_funcs.setdefault(bp.name, []).append(login_manager._update_remember_cookie)
    csrf.init_app(app)

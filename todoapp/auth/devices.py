"""Device cookies, after OWASP's "Slow Down Online Guessing Attacks with
Device Cookies": each successful login gives the browser a cookie that says
"this browser has logged in to this account", signed with the app's secret
key and bound to the username. Its login attempts are then throttled per
device (services/throttle.py), apart from the account's limit on unknown
devices, which anyone can fill: an attacker guessing from many addresses
makes newcomers wait, never the owner's own browser.

The cookie grants nothing else: a session still needs the password. One per
account a browser has logged in to, sent only to the login page, renewed (a
new id) at each successful login.
"""

import hashlib
import secrets

from flask import Response, current_app, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from ..services.users import clean_username

SALT = "todoapp.device-cookie"


def cookie_name(username: str) -> str:
    """The cookie of one account (a browser may hold several): named by a
    digest of the cleaned username, so any username makes a valid name."""
    return "device_" + hashlib.sha256(username.encode()).hexdigest()[:16]


def _serializer() -> URLSafeTimedSerializer:
    # The current key signs; the fallbacks still verify, as for the session.
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt=SALT)


def _max_age() -> int:
    return current_app.config["DEVICE_COOKIE_DAYS"] * 86_400


def recognised(username: str) -> str | None:
    """The id of this request's device cookie for ``username``, when it holds
    a valid one (signed by us, for this username, not too old); else None."""
    try:
        name = clean_username(username)
    except ValueError:
        return None
    raw = request.cookies.get(cookie_name(name))
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=_max_age())
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("user") != name:
        return None
    device = data.get("id")
    return device if isinstance(device, str) and device else None


def remember(response: Response, username: str) -> None:
    """Give the browser a new device cookie for ``username`` (a right password)."""
    name = clean_username(username)
    value = _serializer().dumps({"user": name, "id": secrets.token_urlsafe(16)})
    response.set_cookie(
        cookie_name(name),
        value,
        max_age=_max_age(),
        path=url_for("auth.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )

"""The headers every response carries: security, and who may keep a copy."""

from flask import Flask, Response, request
from flask_login import current_user

from .extensions import CONTENT_SECURITY_POLICY

# On every response, in this order. Redirecting to HTTPS is the proxy's job.
SECURITY_HEADERS = (
    ("Permissions-Policy", "browsing-topics=()"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
)
REFERRER_POLICY = ("Referrer-Policy", "same-origin")
# With HTTPS=1, on responses to requests that came over HTTPS (directly or
# per the proxy's X-Forwarded-Proto): a year, subdomains included.
HSTS = ("Strict-Transport-Security", "max-age=31556926; includeSubDomains")
# Pages that hold a password or a fresh CSRF token even for a visitor.
NO_STORE_ENDPOINTS = frozenset({"auth.login", "auth.register"})


def init_app(app: Flask) -> None:
    """The security headers, the same on every response but HSTS, which
    depends on the request; and ``Cache-Control: no-store`` on every
    response to a logged-in user and on the login and register pages, so
    that neither a browser nor a proxy keeps them: the back button after
    logging out, or the next person at a shared computer, finds nothing.
    Static files are cached by ``static_files``."""
    https = app.config["HTTPS"]

    @app.after_request
    def set_headers(response: Response) -> Response:
        headers = response.headers
        headers.extend(SECURITY_HEADERS)  # added, not set: no response has them yet
        if https and (
            request.is_secure or request.headers.get("X-Forwarded-Proto", "http") == "https"
        ):
            headers[HSTS[0]] = HSTS[1]
        headers[REFERRER_POLICY[0]] = REFERRER_POLICY[1]
        endpoint = request.endpoint
        if endpoint in NO_STORE_ENDPOINTS or (
            # /healthz looks up no user: it must answer 503, not fail, with the database down
            endpoint not in ("static", "healthz") and current_user.is_authenticated
        ):
            headers["Cache-Control"] = "no-store"
        return response

"""Security headers on every response (the page, API answers, problem documents and static files), a
session cookie that is Secure whenever the service is reached over HTTPS, and requests that change something
refused when a browser sends them from a page of another origin.

The page's scripts and styles are all files of this service (no inline script or style), and
upload previews are `blob:` URLs, so the content security policy allows nothing else.
"""

from urllib.parse import urlsplit

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import Forbidden

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class SessionOverHttpsSecure(SecureCookieSessionInterface):
    """The session cookie is Secure with SESSION_COOKIE_SECURE, and on any request that came over HTTPS
    (behind nginx, as its X-Forwarded-Proto says with TRUSTED_PROXIES set)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_cross_origin() -> bool:
    """Whether a browser sent this request from a page of another origin, as browsers say it: Sec-Fetch-Site,
    or, from a browser too old to send that, Origin. A client that is not a browser (curl) sends neither."""
    fetched_from = request.headers.get("Sec-Fetch-Site")
    if fetched_from is not None:
        return fetched_from not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


def refuse_cross_origin() -> None:
    """A page of another site may still make a browser POST a form here, without its cookie (SameSite): the
    service would then give that browser a new client id, and its history would be lost to it; with the
    cookie (a page of the same site on another port), the prediction would be stored as its own."""
    if request.method not in SAFE_METHODS and is_cross_origin():
        raise Forbidden(
            "Requests that store or change something are refused from pages of other sites; "
            "send them from this service's page, or without a browser."
        )


def init_app(app: Flask) -> None:
    app.session_interface = SessionOverHttpsSecure()
    app.before_request(refuse_cross_origin)
    app.after_request(add_security_headers)

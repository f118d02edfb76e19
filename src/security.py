"""Security headers on every response (the page, API answers, problem documents and static files), and
a session cookie that is Secure whenever the service is reached over HTTPS.

The page's scripts and styles are all files of this service (no inline script or style), and
upload previews are `blob:` URLs, so the content security policy allows nothing else.
"""

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

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


def init_app(app: Flask) -> None:
    app.session_interface = SessionOverHttpsSecure()
    app.after_request(add_security_headers)

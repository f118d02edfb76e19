"""Who may change stored predictions: the client that made one (a signed session cookie)
or whoever holds the admin token."""
import hmac
import secrets

from flask import current_app, request, session
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from src.storage import Prediction


def client_id() -> str:
    """This client's id, kept in its session cookie; a new client is given one."""
    if "client_id" not in session:
        session["client_id"] = secrets.token_urlsafe(16)
    return session["client_id"]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def has_admin_token() -> bool:
    token = current_app.config["ADMIN_TOKEN"]
    sent = request.authorization
    return bool(token) and sent is not None and sent.type == "bearer" and _same(sent.token or "", token)


def listed_client_id() -> str | None:
    """Whose predictions a list shows: everyone's (None) with the admin token, else this client's own.

    A client without a session has made none ("" is nobody's id); a wrong token is refused rather
    than answered with the sender's own, probably empty, list.
    """
    if has_admin_token():
        return None
    if request.authorization is not None:
        raise Unauthorized(
            "The admin token is wrong; send it as 'Authorization: Bearer <token>', or nothing to list your own.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "digits"}),
        )
    return session.get("client_id", "")


def require_admin() -> None:
    if not current_app.config["ADMIN_TOKEN"]:
        raise Forbidden("Deleting is disabled: the service has no ADMIN_TOKEN configured.")
    if not has_admin_token():
        raise Unauthorized(
            "This needs the admin token: send it as 'Authorization: Bearer <token>'.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "digits"}),
        )


def require_maker_or_admin(prediction: Prediction) -> None:
    if has_admin_token():
        return
    if prediction.client_id and _same(session.get("client_id", ""), prediction.client_id):
        return
    raise Forbidden(
        f"Only the client that made prediction {prediction.id} (the same browser, or curl with its cookie jar) "
        "or the admin token may correct it."
    )

"""Who may see and change stored predictions: the client that made one (a signed session cookie)
or whoever holds the admin token."""

import hmac
import secrets

from flask import current_app, request, session
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from src.readings import get_prediction
from src.tables import Prediction


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


def requesting_client() -> str | None:
    """Whose predictions this request may see and change: every client's (None) with the admin token,
    else those of the client its session cookie names ("" without one: a client that has made none).

    Any other Authorization is refused, not taken for none: a wrong token would otherwise be answered as
    an ordinary client, with a list that looks empty or a 403 that says nothing of the token.
    """
    if has_admin_token():
        return None
    if request.authorization is not None:
        raise Unauthorized(
            "The admin token is wrong; send it as 'Authorization: Bearer <token>', or nothing to act as "
            "the client of your session cookie.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "digits"}),
        )
    return session.get("client_id", "")


def own_prediction(public_id: str, *deferred) -> Prediction:
    """The stored prediction `public_id` for the client that made it or the admin token; 403 for anyone else.
    The `deferred` columns (its image, its inputs) are loaded with it."""
    requester = requesting_client()
    prediction = get_prediction(public_id, *deferred)
    if requester is None or (prediction.client_id and _same(requester, prediction.client_id)):
        return prediction
    raise Forbidden(
        f"Only the client that made prediction {prediction.public_id} (the same browser, or curl with its cookie "
        "jar) or the admin token may see, correct, replace or delete it."
    )


def require_admin() -> None:
    if not current_app.config["ADMIN_TOKEN"]:
        raise Forbidden("Deleting is disabled: the service has no ADMIN_TOKEN configured.")
    if not has_admin_token():
        raise Unauthorized(
            "This needs the admin token: send it as 'Authorization: Bearer <token>'.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "digits"}),
        )

"""The page's login: trade the token for an HttpOnly, SameSite=Strict cookie, and back."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException

from daemon.errors import InvalidInput
from ingress.deps import Lib
from ingress.tokens import (
    COOKIE,
    COOKIE_MAX_AGE,
    NONE,
    READ,
    WRITE,
    Credentials,
    TokenPolicy,
    bearer,
    cookie,
    cookie_value,
)


def _session(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@get("/api/login", sync_to_thread=False)
def login_status(request: Request[Any, Any, Any], lib: Lib) -> dict[str, Any]:
    """Whether this server needs a token, and what this request's credentials allow."""
    policy = TokenPolicy.from_settings(lib.settings)
    creds = Credentials(
        bearer(request.headers.get("authorization")), cookie(request.headers.get("cookie"))
    )
    access = policy.access(creds)
    hint = {
        WRITE: "You may read and change everything.",
        READ: "You may list, stream and download; changes need the full token.",
        NONE: 'Log in: POST /api/login with {"token": "..."}.',
    }[access]
    return {"token_required": policy.required, "access": access, "instructions": hint}


@post("/api/login", sync_to_thread=False, status_code=200)
def login(
    request: Request[Any, Any, Any], lib: Lib, data: dict[str, Any]
) -> Response[dict[str, Any]]:
    """`{"token": "..."}` -> a login cookie for this browser (the page's fetches carry it)."""
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise InvalidInput('body must be {"token": "<MEDIA_SYNC_API_TOKEN or READ_TOKEN>"}')
    policy = TokenPolicy.from_settings(lib.settings)
    if not policy.required:
        body = {"status": "open", "token_required": False, "access": WRITE}
        body["instructions"] = "This server needs no token (MEDIA_SYNC_API_TOKEN is not set)."
        return Response(body)
    access = policy.for_token(token)
    if access == NONE:
        raise NotAuthorizedException(
            detail="that token is not valid", headers={"WWW-Authenticate": "Bearer"}
        )
    secret = policy.api_token if access == WRITE else policy.read_token
    body = {"status": "logged_in", "token_required": True, "access": access}
    body["instructions"] = "Logged in; this browser stays logged in until you log out."
    return Response(body, cookies=[_session(request, cookie_value(secret), COOKIE_MAX_AGE)])


@post("/api/logout", sync_to_thread=False, status_code=200)
def logout(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Forget this browser's login cookie."""
    body = {"status": "logged_out", "instructions": "Logged out of this browser."}
    return Response(body, cookies=[_session(request, "", 0)])


ROUTES = [login_status, login, logout]

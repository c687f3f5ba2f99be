"""The two HTTP routes that set and clear the session cookie (services/accounts/cookie_session.py),
served by Streamlit's own server (web.py: st.App(..., routes=ROUTES)).

Both take POST only and refuse a request whose Origin is not this server (a cross-site page cannot
make the browser sign in or out); neither ever returns the token in a body."""
from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.accounts.auth import SessionExpiredError
from services.accounts.cookie_session import COOKIE_NAME, END_PATH, HANDOFFS, START_PATH, cookie_secure


def _auth():
    """The app's own Services (the same ones the pages use): one engine, and the schema check at
    start-up runs once, not again when the first cookie is set."""
    from ui.common import shared_services

    return shared_services().auth


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    return bool(origin and host) and origin.split("://", 1)[-1] == host


async def start_session(request: Request) -> Response:
    if not _same_origin(request):
        return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
    try:
        code = (json.loads(await request.body() or b"{}") or {}).get("code")
    except (ValueError, AttributeError):
        code = None
    token = HANDOFFS.take(code if isinstance(code, str) else None)
    if token is None:
        return JSONResponse({"error": "unknown or used code"}, status_code=403)
    auth = _auth()
    try:
        auth.validate(token)
    except SessionExpiredError:
        return JSONResponse({"error": "session ended"}, status_code=403)
    response = Response(status_code=204)
    response.set_cookie(COOKIE_NAME, token, max_age=int(auth.absolute.total_seconds()), path="/", httponly=True,
                        secure=cookie_secure(), samesite="strict")
    return response


async def end_session(request: Request) -> Response:
    if not _same_origin(request):
        return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
    token = request.cookies.get(COOKIE_NAME)
    if token:
        _auth().logout(token)  # already revoked by the page in the usual case; harmless again
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, secure=cookie_secure(), samesite="strict")
    return response


ROUTES = [Route(START_PATH, start_session, methods=["POST"]), Route(END_PATH, end_session, methods=["POST"])]

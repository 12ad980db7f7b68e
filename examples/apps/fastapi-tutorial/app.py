"""The OpenID Connect login of a FastAPI app as tutorials write it.

This app is wrong on purpose: it is the example that `grantbench rp` must catch.
It sends no state, no PKCE and no nonce, decodes the ID token without checking
its signature or any claim, never asks userinfo, and keeps the session in a
plain cookie (no HttpOnly, no SameSite). It still logs a user in normally.
Do not copy it; fastapi-verified beside it is the same app done right.
"""

import logging
import os
import secrets
import sys
import urllib.parse

import jwt
import requests
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

ISSUER = os.environ["ISSUER"].rstrip("/")
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ.get("CLIENT_SECRET", "")
REDIRECT_URI = os.environ["REDIRECT_URI"]
PORT = int(os.environ.get("PORT", "8000"))

log = logging.getLogger("fastapi-tutorial")
app = FastAPI()
sessions = {}


def metadata():
    return requests.get(ISSUER + "/.well-known/openid-configuration").json()


@app.get("/healthz", response_class=PlainTextResponse)
def healthz():
    return "ok"


@app.get("/login")
def login():
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
    }
    return RedirectResponse(metadata()["authorization_endpoint"] + "?" + urllib.parse.urlencode(params))


@app.get("/callback")
def callback(code: str):
    tokens = requests.post(
        metadata()["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    ).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    session_id = secrets.token_urlsafe(16)
    sessions[session_id] = claims
    log.info("login of a user")
    response = RedirectResponse("/me", status_code=303)
    # Starlette would add SameSite=Lax by default; the tutorials' cookie has neither
    # SameSite nor HttpOnly.
    response.set_cookie("session", session_id, samesite=None)
    return response


@app.get("/me", response_class=PlainTextResponse)
def me(request: Request):
    claims = sessions.get(request.cookies.get("session", ""))
    if claims is None:
        return PlainTextResponse("not logged in", status_code=401)
    return "logged in as " + str(claims.get("preferred_username") or claims.get("sub"))


# Not part of the tutorial pattern: grantbench keeps app logs free of codes.
class HideQuery(logging.Filter):
    """Drops the query string from uvicorn's access log, which would print
    every authorization code and state in full."""

    def filter(self, record):
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = args[:2] + (args[2].split("?", 1)[0] + "?...",) + args[3:]
        return True


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("uvicorn.access").addFilter(HideQuery())
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_config=None)

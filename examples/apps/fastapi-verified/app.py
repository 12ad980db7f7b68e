"""The OpenID Connect login of a FastAPI app done right.

The same app as fastapi-tutorial, with every check a relying party owes
(OpenID Connect Core 3.1, RFC 9700, RFC 9207): state, nonce and PKCE S256 per
login, single use and bound to the browser that started it; the ID token
verified against the provider's JWKS (refetched on an unknown kid) with iss,
aud, exp, iat, nonce and sub checked and alg limited to what the metadata
advertises (never none nor HS*); the authorization response's iss compared;
userinfo asked and its sub compared; a Bearer token_type and an id_token
required; a 5 s timeout on the provider's endpoints; an error page, never a
5xx, on every failure; the session cookie HttpOnly and SameSite=Lax.
"""

import base64
import hashlib
import hmac
import html
import logging
import os
import secrets
import sys
import threading
import time
import urllib.parse

import jwt
import requests
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

ISSUER = os.environ["ISSUER"].rstrip("/")
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ.get("CLIENT_SECRET", "")  # empty: a public client
REDIRECT_URI = os.environ["REDIRECT_URI"]
PORT = int(os.environ.get("PORT", "8000"))

HTTP_TIMEOUT = 5  # seconds, for every request to the provider
LOGIN_LIFETIME = 600  # seconds a started login may take
SESSION_LIFETIME = 8 * 3600
CLOCK_SKEW = 60  # seconds of leeway on exp and iat
# Algorithms PyJWT verifies with a public key; none and HS* (a shared secret,
# which a public JWKS cannot hold) are never accepted whatever the metadata says.
ASYMMETRIC_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
KEY_TYPE_OF_ALG = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}  # by the alg's first two letters
SECURE_COOKIE = REDIRECT_URI.startswith("https://")

log = logging.getLogger("fastapi-verified")
app = FastAPI()
lock = threading.Lock()
pending_logins = {}  # state -> {"browser", "nonce", "verifier", "at"}
sessions = {}  # session id -> {"name", "until"}


class Refused(Exception):
    """A login refused for the reason given (shown on the error page)."""


class TimedJWKClient(jwt.PyJWKClient):
    """PyJWKClient whose JWKS requests are bounded by HTTP_TIMEOUT (PyJWT 2.6 sets none)."""

    def fetch_data(self):
        try:
            response = requests.get(self.uri, timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            jwk_set = response.json()
        except (requests.RequestException, ValueError) as e:
            raise jwt.PyJWKClientError("cannot fetch the JWKS: %s" % type(e).__name__)
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(jwk_set)
        return jwk_set


class Provider:
    """The provider's metadata and JWKS client, fetched once and kept."""

    def __init__(self):
        self._metadata = None
        self._jwks = None

    def metadata(self):
        if self._metadata is None:
            try:
                response = requests.get(ISSUER + "/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
                response.raise_for_status()
                metadata = response.json()
            except (requests.RequestException, ValueError) as e:
                raise Refused("the provider's metadata cannot be read (%s)" % type(e).__name__)
            if not isinstance(metadata, dict) or metadata.get("issuer") != ISSUER:
                raise Refused("the provider's metadata names another issuer")
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
                if not isinstance(metadata.get(field), str):
                    raise Refused("the provider's metadata has no " + field)
            self._metadata = metadata
            self._jwks = TimedJWKClient(metadata["jwks_uri"])
        return self._metadata

    def allowed_algs(self):
        advertised = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        return [alg for alg in advertised if alg in ASYMMETRIC_ALGS]

    def signing_key(self, kid):
        """The JWKS key for kid; without a kid, the JWKS's only signing key."""
        self.metadata()
        try:
            if kid is not None:
                return self._jwks.get_signing_key(kid)  # refetches the JWKS once on an unknown kid
            for refresh in (False, True):
                keys = [k for k in self._jwks.get_jwk_set(refresh).keys if k.public_key_use in ("sig", None)]
                if len(keys) == 1:
                    return keys[0]
        except jwt.PyJWKClientError as e:
            raise Refused("no key of the provider's JWKS verifies the ID token (%s)" % e)
        except jwt.PyJWKSetError:
            raise Refused("the provider's JWKS holds no usable key")
        raise Refused("the ID token has no kid and the JWKS does not hold exactly one signing key")


provider = Provider()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def error_page(reason):
    log.info("login refused: %s", reason)
    body = "<!doctype html><title>Login failed</title><h1>Login failed</h1><p>%s</p><p><a href=\"/login\">Try again</a></p>"
    return HTMLResponse(body % html.escape(reason), status_code=400)


@app.get("/healthz", response_class=PlainTextResponse)
def healthz():
    return "ok"


@app.get("/login")
def login(request: Request):
    try:
        authorization_endpoint = provider.metadata()["authorization_endpoint"]
    except Refused as e:
        return error_page(str(e))
    browser = request.cookies.get("login_tx") or secrets.token_urlsafe(32)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    now = time.time()
    with lock:
        for old in [s for s, p in pending_logins.items() if now - p["at"] > LOGIN_LIFETIME]:
            del pending_logins[old]
        pending_logins[state] = {"browser": browser, "nonce": nonce, "verifier": verifier, "at": now}
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in authorization_endpoint else "?"
    response = RedirectResponse(authorization_endpoint + separator + urllib.parse.urlencode(params), status_code=302)
    response.set_cookie("login_tx", browser, max_age=LOGIN_LIFETIME, httponly=True, samesite="lax", secure=SECURE_COOKIE)
    return response


@app.get("/callback")
def callback(request: Request):
    try:
        name = finish_login(request)
    except Refused as e:
        return error_page(str(e))
    except Exception as e:  # never a 5xx, whatever the provider sent
        log.exception("unexpected failure in the callback")
        return error_page("unexpected failure (%s)" % type(e).__name__)
    session_id = secrets.token_urlsafe(32)
    with lock:
        now = time.time()
        for old in [s for s, v in sessions.items() if v["until"] < now]:
            del sessions[old]
        sessions[session_id] = {"name": name, "until": now + SESSION_LIFETIME}
    log.info("login succeeded")
    response = RedirectResponse("/me", status_code=303)
    response.set_cookie("session", session_id, max_age=SESSION_LIFETIME, httponly=True, samesite="lax", secure=SECURE_COOKIE)
    return response


def finish_login(request):
    """Checks the authorization response, redeems the code, verifies the tokens; returns the user's name."""
    query = request.query_params
    for param in ("state", "code", "iss", "error"):
        if len(query.getlist(param)) > 1:
            raise Refused("the authorization response repeats " + param)
    state = query.get("state")
    if not state:
        raise Refused("the authorization response has no state")
    with lock:
        login = pending_logins.pop(state, None)  # single use, refused or not
    if login is None or time.time() - login["at"] > LOGIN_LIFETIME:
        raise Refused("the state is unknown, used or expired")
    if not hmac.compare_digest(login["browser"], request.cookies.get("login_tx", "")):
        raise Refused("the login was started in another browser")
    metadata = provider.metadata()
    iss = query.get("iss")
    if iss is not None or metadata.get("authorization_response_iss_parameter_supported"):
        if iss != ISSUER:
            raise Refused("the authorization response's iss is not the provider's issuer (RFC 9207)")
    if query.get("error"):
        raise Refused("the provider answered " + query.get("error"))
    code = query.get("code")
    if not code:
        raise Refused("the authorization response has no code")

    tokens = redeem(metadata["token_endpoint"], code, login["verifier"])
    claims = verify_id_token(tokens["id_token"], login["nonce"])
    check_userinfo(metadata["userinfo_endpoint"], tokens["access_token"], claims["sub"])
    return claims.get("preferred_username") or claims["sub"]


def redeem(token_endpoint, code, verifier):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    auth = None
    if CLIENT_SECRET:
        # client_secret_basic: both parts form-urlencoded first (RFC 6749 2.3.1).
        auth = (urllib.parse.quote_plus(CLIENT_ID), urllib.parse.quote_plus(CLIENT_SECRET))
    else:
        form["client_id"] = CLIENT_ID
    try:
        response = requests.post(token_endpoint, data=form, auth=auth, timeout=HTTP_TIMEOUT, allow_redirects=False)
    except requests.Timeout:
        raise Refused("the token endpoint did not answer within %d s" % HTTP_TIMEOUT)
    except requests.RequestException as e:
        raise Refused("the token request failed (%s)" % type(e).__name__)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else "no error code"
        raise Refused("the token endpoint answered %d (%s)" % (response.status_code, error))
    if not isinstance(body, dict):
        raise Refused("the token response is not a JSON object")
    if not isinstance(body.get("token_type"), str) or body["token_type"].lower() != "bearer":
        raise Refused("the token response's token_type is not Bearer")
    for field in ("access_token", "id_token"):
        if not isinstance(body.get(field), str) or not body[field]:
            raise Refused("the token response has no " + field)
    return body


def verify_id_token(id_token, nonce):
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.InvalidTokenError:
        raise Refused("the ID token is not a JWT")
    alg = header.get("alg")
    if alg not in provider.allowed_algs():
        raise Refused("the ID token's alg %r is not one the provider advertises for ID tokens" % alg)
    key = provider.signing_key(header.get("kid"))
    if KEY_TYPE_OF_ALG.get(alg[:2]) != key.key_type:
        raise Refused("the ID token's alg %s does not fit its key (kty %s)" % (alg, key.key_type))
    try:
        claims = jwt.decode(
            id_token,
            key.key,
            algorithms=[alg],
            audience=CLIENT_ID,
            issuer=ISSUER,
            leeway=CLOCK_SKEW,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.InvalidTokenError as e:
        raise Refused("the ID token is invalid: %s" % e)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Refused("the ID token has no sub")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != CLIENT_ID:
        raise Refused("the ID token has several audiences and azp is not this client")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise Refused("the ID token's nonce is not the one this login sent")
    return claims


def check_userinfo(userinfo_endpoint, access_token, sub):
    try:
        response = requests.get(
            userinfo_endpoint, headers={"Authorization": "Bearer " + access_token}, timeout=HTTP_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as e:
        raise Refused("the userinfo request failed (%s)" % type(e).__name__)
    if response.status_code != 200:
        raise Refused("userinfo answered %d" % response.status_code)
    try:
        info = response.json()
    except ValueError:
        raise Refused("userinfo did not answer JSON")
    if not isinstance(info, dict) or info.get("sub") != sub:
        raise Refused("userinfo's sub is not the ID token's sub (OIDC Core 5.3.2)")


@app.get("/me", response_class=PlainTextResponse)
def me(request: Request):
    with lock:
        session = sessions.get(request.cookies.get("session", ""))
    if session is None or session["until"] < time.time():
        return PlainTextResponse("not logged in", status_code=401)
    return "logged in as " + session["name"]


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

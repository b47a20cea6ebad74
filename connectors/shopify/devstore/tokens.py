"""Shopify's OAuth endpoints: session tokens, token exchange, refresh, authorization code.

* Session (ID) tokens are App Bridge's: HS256 JWTs signed with the app's client secret, claims
  iss=https://<shop>/admin, dest=https://<shop>, aud=<client id>, sub=<user id>, exp (60 s),
  nbf, iat, jti, sid. They use the wall clock, like every JWT verifier.
* Token exchange trades one for an online or offline access token; `expiring=1` makes an offline
  token expire and come with a refresh token.
* Refresh rotates: every refresh returns a new access token and a new refresh token. Since
  Shopify's 2026-08-28 change ("More resilient refreshes for expiring offline access tokens") a
  used refresh token may be retried until its replacement refresh token is first used, for at
  most 30 days after its first use and never past its own 90-day lifetime; afterwards it is
  `invalid_grant`.
* Authorization codes are single-use ("The authorization code was not found or was already used").
Access-token lifetimes run on the FakeShopify clock so tests can expire them.
"""
from __future__ import annotations

import secrets
import time
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Callable

import jwt
from jwt.warnings import InsecureKeyLengthWarning

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE = "urn:shopify:params:oauth:token-type:online-access-token"
JWT_LEEWAY = 5
RETRY_WINDOW = 30 * 86400
ONLINE_TTL = 86400
CODE_TTL = 600


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass
class AccessToken:
    token: str
    shop: str
    scopes: frozenset[str]
    expires_at: float | None  # FakeShopify clock; None = never
    user_id: int | None = None
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    shop: str
    scopes: frozenset[str]
    expires_at: float
    predecessor: RefreshToken | None = None
    first_used_at: float | None = None
    retired: bool = False
    replacements: list = field(default_factory=list)


@dataclass
class AuthCode:
    code: str
    shop: str
    scopes: frozenset[str]
    expires_at: float
    online_user: int | None = None
    used: bool = False


def session_token(api_key: str, secret: str, shop: str, user_id: int, exp_in: int, claims: dict | None) -> str:
    now = int(time.time())
    payload = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": api_key, "sub": str(user_id),
               "exp": now + exp_in, "nbf": now, "iat": now, "jti": str(uuid.uuid4()),
               "sid": secrets.token_hex(32)}
    payload.update(claims or {})
    with warnings.catch_warnings():
        # App Bridge signs with the client secret whatever its length; short test secrets are fine.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm="HS256")


class TokenService:
    def __init__(self, api_key: str, api_secret: str, clock: Callable[[], float], access_ttl: int,
                 refresh_ttl: int, scopes: frozenset[str]):
        self.api_key, self.api_secret, self.clock = api_key, api_secret, clock
        self.access_ttl, self.refresh_ttl, self.scopes = access_ttl, refresh_ttl, scopes
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}

    # -- issuing ------------------------------------------------------------------------------
    def _answer(self, shop: str, scopes: frozenset[str], expiring: bool, predecessor: RefreshToken | None = None) -> dict:
        now = self.clock()
        access = AccessToken("shpat_" + secrets.token_hex(16), shop, scopes,
                             now + self.access_ttl if expiring else None)
        self.access[access.token] = access
        answer = {"access_token": access.token, "scope": ",".join(sorted(scopes))}
        if expiring:
            refresh = RefreshToken("shprt_" + secrets.token_hex(24), shop, scopes, now + self.refresh_ttl,
                                   predecessor=predecessor)
            self.refresh[refresh.token] = refresh
            answer = {"access_token": access.token, "expires_in": self.access_ttl, "refresh_token": refresh.token,
                      "refresh_token_expires_in": self.refresh_ttl, "scope": answer["scope"]}
        return answer

    def _online_answer(self, shop: str, scopes: frozenset[str], user_id: int) -> dict:
        access = AccessToken("shpua_" + secrets.token_hex(16), shop, scopes, self.clock() + ONLINE_TTL, user_id)
        self.access[access.token] = access
        scope = ",".join(sorted(scopes))
        return {"access_token": access.token, "scope": scope, "expires_in": ONLINE_TTL, "associated_user_scope": scope,
                "associated_user": {"id": user_id, "first_name": "Dev", "last_name": f"User {user_id}",
                                    "email": f"user{user_id}@{shop}", "account_owner": user_id == 1,
                                    "locale": "en", "collaborator": False, "email_verified": True}}

    def issue_offline(self, shop: str, expiring: bool = True, scopes: frozenset[str] | None = None) -> dict:
        return self._answer(shop, scopes or self.scopes, expiring)

    # -- the token endpoint -------------------------------------------------------------------
    def check_client(self, params: dict) -> None:
        if params.get("client_id") != self.api_key or params.get("client_secret") != self.api_secret:
            raise OAuthError(401, "invalid_client", "Client authentication failed: unknown client or wrong secret.")

    def token_exchange(self, shop: str, params: dict) -> dict:
        if params.get("subject_token_type") != ID_TOKEN_TYPE:
            raise OAuthError(400, "invalid_request", "subject_token_type must be " + ID_TOKEN_TYPE)
        requested = params.get("requested_token_type") or OFFLINE
        if requested not in (OFFLINE, ONLINE):
            raise OAuthError(400, "invalid_request", f"unsupported requested_token_type {requested!r}")
        claims = self.verify_session_token(params.get("subject_token") or "", shop)
        if requested == ONLINE:
            return self._online_answer(shop, self.scopes, int(claims["sub"]))
        return self._answer(shop, self.scopes, str(params.get("expiring", "0")) in ("1", "true", "True"))

    def verify_session_token(self, token: str, shop: str) -> dict:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InsecureKeyLengthWarning)
                claims = jwt.decode(token, self.api_secret, algorithms=["HS256"], audience=self.api_key,
                                    leeway=JWT_LEEWAY, options={"require": ["exp", "nbf", "iat", "dest", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise OAuthError(400, "invalid_subject_token", f"The subject token is invalid: {exc}") from None
        if claims.get("dest") != f"https://{shop}" or claims.get("iss") != f"https://{shop}/admin":
            raise OAuthError(400, "invalid_subject_token", f"The subject token was not issued for {shop}.")
        return claims

    def refresh_grant(self, shop: str, params: dict) -> dict:
        now = self.clock()
        record = self.refresh.get(params.get("refresh_token") or "")
        if record is None or record.shop != shop or record.retired or now >= record.expires_at:
            raise OAuthError(400, "invalid_grant", "The refresh token is invalid, expired or revoked.")
        if record.first_used_at is not None and now - record.first_used_at > RETRY_WINDOW:
            raise OAuthError(400, "invalid_grant", "The refresh token is invalid, expired or revoked.")
        if record.first_used_at is None:
            record.first_used_at = now
        parent = record.predecessor
        if parent is not None and not parent.retired:
            # The app now uses a replacement: its predecessor, and any other replacement issued
            # for it on a retry, can no longer be used.
            parent.retired = True
            for sibling in parent.replacements:
                if sibling is not record:
                    sibling.retired = True
        answer = self._answer(shop, record.scopes, True, predecessor=record)
        record.replacements.append(self.refresh[answer["refresh_token"]])
        return answer

    def new_code(self, shop: str, scopes: frozenset[str], online_user: int | None) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = AuthCode(code, shop, scopes, self.clock() + CODE_TTL, online_user)
        return code

    def code_grant(self, shop: str, params: dict) -> dict:
        record = self.codes.get(params.get("code") or "")
        if record is None or record.used or record.shop != shop or self.clock() >= record.expires_at:
            raise OAuthError(400, "invalid_request", "The authorization code was not found or was already used")
        record.used = True
        if record.online_user is not None:
            return self._online_answer(shop, record.scopes, record.online_user)
        return self._answer(shop, record.scopes, str(params.get("expiring", "0")) in ("1", "true", "True"))

    # -- using and revoking -------------------------------------------------------------------
    def authenticate(self, token: str | None, shop: str) -> AccessToken | None:
        record = self.access.get(token or "")
        if record is None or record.revoked or record.shop != shop:
            return None
        if record.expires_at is not None and self.clock() >= record.expires_at:
            return None
        return record

    def revoke_shop(self, shop: str) -> None:
        for record in self.access.values():
            if record.shop == shop:
                record.revoked = True
        for refresh in self.refresh.values():
            if refresh.shop == shop:
                refresh.retired = True
        for code in self.codes.values():
            if code.shop == shop:
                code.used = True

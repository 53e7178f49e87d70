"""Members and their API tokens: the operator's administration, and authenticating a token."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.exchange import audit
from supplyshock.exchange.errors import Conflict, NotFound, Unauthenticated
from supplyshock.exchange.policy import require_operator as require_operator  # re-exported
from supplyshock.exchange.schemas import (
    MemberCreate,
    MemberPublic,
    Principal,
    TokenIssue,
    TokenIssued,
    TokenPublic,
)
from supplyshock.store.models import ApiToken, Member, utcnow

TOKEN_SCHEME = "ssx"
# ssx_<12 hex prefix>_<43 url-safe characters = 256 random bits>
_TOKEN = re.compile(rf"^{TOKEN_SCHEME}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")


def hash_token(token: str) -> str:
    """SHA-256 is enough here: tokens carry 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_member(*, session: Session, actor: Principal, data: MemberCreate) -> MemberPublic:
    require_operator(actor)
    if session.scalar(select(Member.id).where(Member.name == data.name)) is not None:
        raise Conflict(f"a member named {data.name!r} exists already")
    member = Member(name=data.name, contact=data.contact, country=data.country)
    session.add(member)
    session.flush()
    # The contact is personal data and must be erasable: it stays out of the append-only log.
    audit.append(
        session=session,
        actor=actor,
        action="member.created",
        entity=f"member:{member.id}",
        payload={"name": member.name, "country": member.country},
    )
    return MemberPublic.model_validate(member)


def list_members(*, session: Session, actor: Principal) -> list[MemberPublic]:
    require_operator(actor)
    rows = session.scalars(select(Member).order_by(Member.name))
    return [MemberPublic.model_validate(m) for m in rows]


def get_member(*, session: Session, actor: Principal, member_id: str) -> MemberPublic:
    require_operator(actor)
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member {member_id!r}")
    return MemberPublic.model_validate(member)


def issue_token(
    *, session: Session, actor: Principal, data: TokenIssue, now: datetime | None = None
) -> TokenIssued:
    """Create a token; the plaintext is in the answer and nowhere else, ever."""
    require_operator(actor)
    if data.member_id is not None and session.get(Member, data.member_id) is None:
        raise NotFound(f"no member {data.member_id!r}")
    now = now or utcnow()
    prefix = secrets.token_hex(6)
    plaintext = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        member_id=data.member_id,
        role=data.role,
        label=data.label,
        prefix=prefix,
        token_hash=hash_token(plaintext),
        created_at=now,
        expires_at=now + timedelta(days=data.days),
    )
    session.add(token)
    session.flush()
    audit.append(
        session=session,
        actor=actor,
        action="token.issued",
        entity=f"token:{token.id}",
        payload={
            "prefix": prefix,
            "role": data.role,
            "member_id": data.member_id,
            "expires_at": token.expires_at,
        },
        now=now,
    )
    return TokenIssued(token=plaintext, info=TokenPublic.model_validate(token))


def _find_token(session: Session, id_or_prefix: str) -> ApiToken:
    key = id_or_prefix.removeprefix(f"{TOKEN_SCHEME}_")
    token = session.get(ApiToken, key) or session.scalar(
        select(ApiToken).where(ApiToken.prefix == key)
    )
    if token is None:
        raise NotFound(f"no token {id_or_prefix!r}")
    return token


def revoke_token(
    *, session: Session, actor: Principal, token: str, now: datetime | None = None
) -> TokenPublic:
    """Revoke by id or prefix; revoking twice keeps the first revocation time."""
    require_operator(actor)
    row = _find_token(session, token)
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
        audit.append(
            session=session,
            actor=actor,
            action="token.revoked",
            entity=f"token:{row.id}",
            payload={"prefix": row.prefix},
            now=row.revoked_at,
        )
    return TokenPublic.model_validate(row)


def list_tokens(
    *, session: Session, actor: Principal, member_id: str | None = None
) -> list[TokenPublic]:
    require_operator(actor)
    query = select(ApiToken).order_by(ApiToken.created_at)
    if member_id is not None:
        query = query.where(ApiToken.member_id == member_id)
    return [TokenPublic.model_validate(t) for t in session.scalars(query)]


def authenticate(token: str, *, session: Session, now: datetime | None = None) -> Principal:
    """The principal a bearer token stands for; unknown, expired and revoked tokens are refused."""
    if not _TOKEN.match(token):
        raise Unauthenticated("malformed token")
    digest = hash_token(token)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by hash, so its timing says nothing about the token; compare anyway.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise Unauthenticated("unknown token")
    if row.revoked_at is not None:
        raise Unauthenticated("token revoked")
    if row.expires_at <= (now or utcnow()):
        raise Unauthenticated("token expired")
    return Principal(
        role="member" if row.role == "member" else "editor" if row.role == "editor" else "operator",
        member_id=row.member_id,
        token_id=row.id,
    )

"""API tokens: shown once, stored hashed, refused once expired or revoked; operator-only admin."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from supplyshock.exchange.errors import Conflict, Forbidden, NotFound, Unauthenticated
from supplyshock.exchange.members import (
    authenticate,
    create_member,
    issue_token,
    list_members,
    list_tokens,
    revoke_token,
)
from supplyshock.exchange.schemas import MemberCreate, Principal, TokenIssue
from supplyshock.store.models import ApiToken

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"
OPERATOR = Principal.local_operator()


def test_token_is_stored_as_its_hash_only(
    session: Session, make_member: Callable[..., Principal]
) -> None:
    member = make_member()
    issued = issue_token(
        session=session, actor=OPERATOR, data=TokenIssue(member_id=member.member_id), now=NOW
    )
    row = session.get_one(ApiToken, issued.info.id)
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    # Nowhere in the table, in any column, is the plaintext or its secret part.
    secret = issued.token.rsplit("_", 1)[1]
    dump = " ".join(str(v) for r in session.execute(text("SELECT * FROM api_tokens")) for v in r)
    assert issued.token not in dump
    assert secret not in dump
    assert issued.token.startswith(f"ssx_{row.prefix}_")


def test_token_authenticates_as_its_member(
    session: Session, make_member: Callable[..., Principal]
) -> None:
    member = make_member()
    issued = issue_token(
        session=session, actor=OPERATOR, data=TokenIssue(member_id=member.member_id), now=NOW
    )
    who = authenticate(issued.token, session=session, now=NOW + timedelta(days=1))
    assert (who.role, who.member_id, who.token_id) == ("member", member.member_id, issued.info.id)


def test_operator_token_authenticates_as_operator(session: Session) -> None:
    issued = issue_token(
        session=session, actor=OPERATOR, data=TokenIssue(role="operator", label="ops"), now=NOW
    )
    who = authenticate(issued.token, session=session, now=NOW)
    assert who.role == "operator" and who.member_id is None


def test_expired_token_is_refused(session: Session, make_member: Callable[..., Principal]) -> None:
    member = make_member()
    issued = issue_token(
        session=session,
        actor=OPERATOR,
        data=TokenIssue(member_id=member.member_id, days=7),
        now=NOW,
    )
    authenticate(issued.token, session=session, now=NOW + timedelta(days=7, seconds=-1))
    with pytest.raises(Unauthenticated, match="expired"):
        authenticate(issued.token, session=session, now=NOW + timedelta(days=7))


def test_revoked_token_is_refused(session: Session, make_member: Callable[..., Principal]) -> None:
    member = make_member()
    issued = issue_token(
        session=session, actor=OPERATOR, data=TokenIssue(member_id=member.member_id), now=NOW
    )
    revoked = revoke_token(session=session, actor=OPERATOR, token=issued.info.prefix, now=NOW)
    assert revoked.revoked_at == NOW
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(issued.token, session=session, now=NOW + timedelta(minutes=1))


def test_revoking_twice_keeps_the_first_revocation(
    session: Session, make_member: Callable[..., Principal]
) -> None:
    member = make_member()
    issued = issue_token(
        session=session, actor=OPERATOR, data=TokenIssue(member_id=member.member_id), now=NOW
    )
    revoke_token(session=session, actor=OPERATOR, token=issued.info.id, now=NOW)
    again = revoke_token(
        session=session, actor=OPERATOR, token=issued.info.id, now=NOW + timedelta(days=1)
    )
    assert again.revoked_at == NOW


@pytest.mark.parametrize(
    "token",
    ["", "Bearer x", "ssx_0123456789ab_" + "A" * 43, "ssx_short_" + "A" * 43],
)
def test_unknown_or_malformed_token_is_refused(session: Session, token: str) -> None:
    with pytest.raises(Unauthenticated):
        authenticate(token, session=session, now=NOW)


def test_a_token_that_differs_by_one_character_is_refused(session: Session) -> None:
    issued = issue_token(session=session, actor=OPERATOR, data=TokenIssue(role="operator"))
    last = issued.token[-1]
    forged = issued.token[:-1] + ("A" if last != "A" else "B")
    with pytest.raises(Unauthenticated, match="unknown"):
        authenticate(forged, session=session)


def test_member_token_needs_a_member() -> None:
    with pytest.raises(ValidationError, match="member_id"):
        TokenIssue(role="member")


def test_token_for_an_unknown_member_is_refused(session: Session) -> None:
    with pytest.raises(NotFound):
        issue_token(session=session, actor=OPERATOR, data=TokenIssue(member_id="nope"))


def test_only_the_operator_administers_members_and_tokens(
    session: Session, make_member: Callable[..., Principal]
) -> None:
    member = make_member()
    with pytest.raises(Forbidden):
        create_member(
            session=session,
            actor=member,
            data=MemberCreate(name="Sneaky", contact="s@example.com", country="FR"),
        )
    with pytest.raises(Forbidden):
        issue_token(session=session, actor=member, data=TokenIssue(role="operator"))
    with pytest.raises(Forbidden):
        list_members(session=session, actor=member)
    with pytest.raises(Forbidden):
        list_tokens(session=session, actor=member)


def test_member_names_are_unique(session: Session, make_member: Callable[..., Principal]) -> None:
    make_member(name="Bosch")
    with pytest.raises(Conflict):
        make_member(name="Bosch")


def test_member_country_must_be_iso(session: Session) -> None:
    with pytest.raises(ValidationError, match="ISO 3166"):
        MemberCreate(name="X", contact="x", country="XX")


def test_listing_tokens_never_shows_a_hash_or_plaintext(
    session: Session, make_member: Callable[..., Principal]
) -> None:
    member = make_member()
    issued = issue_token(
        session=session, actor=OPERATOR, data=TokenIssue(member_id=member.member_id)
    )
    [shown] = list_tokens(session=session, actor=OPERATOR, member_id=member.member_id)
    dumped = shown.model_dump_json()
    assert issued.token not in dumped
    row = session.scalar(select(ApiToken).where(ApiToken.id == shown.id))
    assert row is not None and row.token_hash not in dumped

"""Exchange pages: sign in with a token, my listings and matches, the board, the operator's desk.

Each page calls the same service functions as ``/api/v1``; the token lives in an HttpOnly,
SameSite=Strict cookie (a cross-site form cannot post with it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from supplyshock.exchange import board, crises, listings, matches, matching, members
from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.disclosure import Policy
from supplyshock.exchange.errors import ExchangeError
from supplyshock.exchange.members import authenticate
from supplyshock.exchange.rules import REGIONS
from supplyshock.exchange.schemas import (
    ListingCreate,
    ListingUpdate,
    MemberCreate,
    Principal,
    TokenIssue,
)
from supplyshock.http.transactions import database_slot
from supplyshock.services import registry_watch
from supplyshock.web.common import (
    COOKIE,
    FormDep,
    field_errors,
    principal_from_cookie,
    render,
    set_token_cookie,
    unit_of_work,
)

# Every exchange page works in the database: it takes one of the server's database slots, as
# the API's routes do (http/transactions.py), so a burst of page loads waits in the event loop
# instead of exhausting the connection pool.
router = APIRouter(
    prefix="/exchange",
    include_in_schema=False,
    dependencies=[Depends(database_slot, scope="function")],
)
Id = Annotated[str, Path(min_length=1, max_length=32)]
REGION_OPTIONS = [(r, r) for r in REGIONS]

CHECKBOXES = ("authorised_channel", "original_packaging", "traceability")
OPTIONAL = ("date_code", "days_of_supply", "margin_per_unit", "part_family", "max_lots")
LISTING_FIELDS = (
    "kind",
    "crisis_id",
    "part_number",
    "maker",
    "quantity",
    "region",
    "window_start",
    "window_end",
    *OPTIONAL,
)


def _to_signin() -> Response:
    return RedirectResponse("/exchange/signin", status_code=303)


def _back(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.get("/signin")
def signin_form(request: Request) -> Response:
    return render(request, "signin.html", errors={}, who=None)


@router.post("/signin")
def signin(request: Request, form: FormDep) -> Response:
    token = form.get("token", "").strip()
    with unit_of_work(request) as uow:
        try:
            who = authenticate(token, session=uow.session)
        except ExchangeError as exc:
            return render(
                request, "signin.html", status_code=401, errors={"token": exc.message}, who=None
            )
    pages = {"operator": "/exchange/operator", "editor": "/registry/edit"}
    response = _back(pages.get(who.role, "/exchange"))
    set_token_cookie(response, token)
    return response


@router.post("/signout")
def signout() -> Response:
    response = _back("/exchange/signin")
    response.delete_cookie(COOKIE)
    return response


def _listing_data(form: dict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {k: form[k] for k in fields if form.get(k, "").strip()}
    for box in CHECKBOXES:
        data[box] = form.get(box) == "on"
    return data


def _member_page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    open_crises = [c for c in crises.list_crises(session=session) if c.status == "open"]
    return render(
        request,
        "exchange.html",
        status_code=status_code,
        who=who,
        listings=listings.list_my_listings(session=session, actor=who),
        matches=matches.list_matches(
            session=session, actor=who, pseudonym_key=request.app.state.settings.secret_key
        ),
        crises=open_crises,
        notifications=registry_watch.list_notifications(session=session, actor=who)[-20:],
        crisis_options=[(c.id, c.name) for c in open_crises],
        region_options=REGION_OPTIONS,
        errors=errors or {},
        form=form or _blank_listing(),
        notice=notice,
    )


def _blank_listing() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {
        "kind": "offer",
        "region": "europe",
        "window_start": today.isoformat(),
        "window_end": (today + timedelta(days=30)).isoformat(),
    }


@router.get("")
def member_home(request: Request, notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session)
        if who is None:
            return _to_signin()
        if who.role == "operator":
            return _back("/exchange/operator")
        return _member_page(request, uow.session, who, notice=notice or None)


@router.post("/listings")
def create_listing(request: Request, form: FormDep) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "member")
        if who is None:
            return _to_signin()
        try:
            data = ListingCreate.model_validate(_listing_data(form, LISTING_FIELDS))
            listing = matching.create_and_match(
                session=uow.session,
                actor=who,
                data=data,
                pseudonym_key=request.app.state.settings.secret_key,
            )
        except ValidationError as exc:
            errors = field_errors(exc)
        except ExchangeError as exc:
            errors = {"__all__": exc.message}
        else:
            uow.commit()
            return _back(f"/exchange?notice=Listing {listing.id} posted")
        uow.session.rollback()
        return _member_page(request, uow.session, who, errors=errors, form=form, status_code=422)


@router.get("/listings/{listing_id}")
def amend_form(request: Request, listing_id: Id) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "member")
        if who is None:
            return _to_signin()
        listing = listings.get_my_listing(session=uow.session, actor=who, listing_id=listing_id)
        form = {k: "" if v is None else str(v) for k, v in listing.model_dump().items()}
        return render(
            request,
            "amend.html",
            who=who,
            listing=listing,
            form=form,
            errors={},
            region_options=REGION_OPTIONS,
        )


@router.post("/listings/{listing_id}")
def amend(request: Request, listing_id: Id, form: FormDep) -> Response:
    fields = ("quantity", "region", "window_start", "window_end", "date_code", "version")
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "member")
        if who is None:
            return _to_signin()
        listing = listings.get_my_listing(session=uow.session, actor=who, listing_id=listing_id)
        try:
            data = ListingUpdate.model_validate(_listing_data(form, fields))
            matching.update_and_match(
                session=uow.session,
                actor=who,
                listing_id=listing_id,
                data=data,
                pseudonym_key=request.app.state.settings.secret_key,
            )
        except ValidationError as exc:
            errors = field_errors(exc)
        except ExchangeError as exc:
            errors = {"__all__": exc.message}
        else:
            uow.commit()
            return _back(f"/exchange?notice=Listing {listing_id} amended")
        return render(
            request,
            "amend.html",
            status_code=422,
            who=who,
            listing=listing,
            form=form,
            errors=errors,
            region_options=REGION_OPTIONS,
        )


@router.post("/listings/{listing_id}/withdraw")
def withdraw(request: Request, listing_id: Id) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "member")
        if who is None:
            return _to_signin()
        try:
            listings.withdraw_listing(session=uow.session, actor=who, listing_id=listing_id)
        except ExchangeError as exc:
            return _back(f"/exchange?notice={exc.message}")
        uow.commit()
    return _back(f"/exchange?notice=Listing {listing_id} withdrawn")


@router.post("/matches/{match_id}/{action}")
def match_action(request: Request, match_id: Id, action: str) -> Response:
    act = {"accept": matches.accept_match, "decline": matches.decline_match}.get(action)
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "member")
        if who is None:
            return _to_signin()
        if act is None:
            return _back("/exchange?notice=unknown action")
        try:
            m = act(
                session=uow.session,
                actor=who,
                match_id=match_id,
                pseudonym_key=request.app.state.settings.secret_key,
            )
        except ExchangeError as exc:
            return _back(f"/exchange?notice={exc.message}")
        uow.commit()
    return _back(f"/exchange?notice=Match {match_id} is now {m.state}")


@router.get("/board")
def board_page(
    request: Request,
    crisis: Annotated[str, Query(max_length=32)] = "",
    by: Annotated[str, Query(max_length=10)] = "part",
) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session)
        if who is None:
            return _to_signin()
        all_crises = crises.list_crises(session=uow.session)
        chosen = crisis or (all_crises[-1].id if all_crises else "")
        result, error = None, None
        if chosen:
            try:
                result = board.get_board(
                    session=uow.session,
                    actor=who,
                    crisis_id=chosen,
                    by="family" if by == "family" else "part",
                    policy=Policy(epoch_seconds=request.app.state.settings.board_epoch_seconds),
                )
            except ExchangeError as exc:
                error = exc.message
        return render(
            request,
            "board.html",
            who=who,
            crises=all_crises,
            chosen=chosen,
            by=by,
            board=result,
            error=error,
        )


def _operator_page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    issued: str | None = None,
    audit: Any = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "operator.html",
        status_code=status_code,
        who=who,
        members=members.list_members(session=session, actor=who),
        tokens=members.list_tokens(session=session, actor=who),
        errors=errors or {},
        form=form or {},
        issued=issued,
        audit=audit,
    )


@router.get("/operator")
def operator_home(request: Request) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "operator")
        if who is None:
            return _to_signin()
        return _operator_page(request, uow.session, who)


@router.post("/operator/members")
def add_member(request: Request, form: FormDep) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "operator")
        if who is None:
            return _to_signin()
        try:
            data = MemberCreate.model_validate(
                {k: form.get(k, "") for k in ("name", "contact", "country")}
            )
            members.create_member(session=uow.session, actor=who, data=data)
        except ValidationError as exc:
            errors = field_errors(exc)
        except ExchangeError as exc:
            errors = {"name": exc.message}
        else:
            uow.commit()
            return _back("/exchange/operator")
        uow.session.rollback()
        return _operator_page(request, uow.session, who, errors=errors, form=form, status_code=422)


@router.post("/operator/tokens")
def add_token(request: Request, form: FormDep) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "operator")
        if who is None:
            return _to_signin()
        issued: str | None = None
        errors: dict[str, str] = {}
        try:
            data = TokenIssue.model_validate(
                {
                    "role": form.get("role", "member"),
                    "member_id": form.get("member_id") or None,
                    "label": form.get("label", ""),
                }
            )
            issued = members.issue_token(session=uow.session, actor=who, data=data).token
            uow.commit()
        except ValidationError as exc:
            errors = {"member_id": "; ".join(field_errors(exc).values())}
        except ExchangeError as exc:
            errors = {"member_id": exc.message}
        return _operator_page(
            request,
            uow.session,
            who,
            errors=errors,
            issued=issued,
            status_code=422 if errors else 200,
        )


@router.post("/operator/audit")
def audit_verify(request: Request) -> Response:
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session, "operator")
        if who is None:
            return _to_signin()
        report = verify_audit(session=uow.session)
        return _operator_page(request, uow.session, who, audit=report)

"""Finding the member staff mean: a card QR token, a member code or a phone number."""

from __future__ import annotations

from bot.chat.context import Context
from bot.loyalty import qr
from bot.loyalty.member_codes import clean, looks_like_code
from bot.members.profile_fields import InvalidAnswer, parse_phone


class NotFound(Exception):  # noqa: N818 - a lookup outcome, not a failure of ours
    """`message` says why, in the sender's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def resolve_member(ctx: Context, query: str) -> dict:
    """The active member `query` names, or NotFound with a reason for staff."""
    query = query.strip()
    if qr.looks_like_token(query):
        try:
            member_id = qr.read_token(ctx.config.SECRET_KEY, query)
        except qr.TokenError as error:
            if error.reason == "expired":
                raise NotFound(
                    ctx._("This QR code has expired. Ask the customer to refresh their card.")
                ) from None
            raise NotFound(ctx._("This QR code is not a valid member card.")) from None
        member = ctx.store.member_by_id(member_id)
    elif looks_like_code(query):
        member = ctx.store.member_by_code(clean(query))
    else:
        try:
            member = ctx.store.member_by_phone(parse_phone(query))
        except InvalidAnswer:
            member = None
    if member is None or member.get("status") != "member":
        raise NotFound(ctx._("No member found for %(query)s.", query=query))
    return member

"""The shape of each webhook event, checked once at the edge before any handler runs.

The body is signed by LINE, but a signature says who sent it, not that every
field has the type our code expects: a `userId` that is an object would reach
MongoDB as a query operator. So every field the bot reads is checked here, with
its type and a bound on its size; fields we do not read pass through untouched,
so LINE can add new ones.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError
from pydantic.alias_generators import to_camel

# LINE's documented id formats: U/C/R + 32 lowercase hex digits.
UserId = Annotated[str, Field(pattern=r"^U[0-9a-f]{32}$")]
GroupId = Annotated[str, Field(pattern=r"^C[0-9a-f]{32}$")]
RoomId = Annotated[str, Field(pattern=r"^R[0-9a-f]{32}$")]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Token = Annotated[str, Field(min_length=1, max_length=256)]
MAX_TEXT = 5000  # LINE's limit on a text message
MAX_POSTBACK_DATA = 300


class _Shape(BaseModel):
    # strict: no coercion (1 is not "1"); extra: unknown fields are LINE's business;
    # fields are LINE's camelCase names (user_id is `userId`).
    model_config = ConfigDict(strict=True, extra="allow", alias_generator=to_camel)


class Source(_Shape):
    type: Name
    user_id: UserId | None = None
    group_id: GroupId | None = None
    room_id: RoomId | None = None


class Message(_Shape):
    type: Name
    id: Token | None = None
    text: Annotated[str, Field(max_length=MAX_TEXT)] | None = None


class Postback(_Shape):
    data: Annotated[str, Field(max_length=MAX_POSTBACK_DATA)]
    params: dict[Name, Annotated[str, Field(max_length=256)]] | None = None


class DeliveryContext(_Shape):
    is_redelivery: StrictBool


class Event(_Shape):
    type: Name
    # Required, as in LINE's webhook.yml: de-duplication and the stale check rely on them.
    mode: Name
    timestamp: Annotated[StrictInt, Field(ge=0)]
    webhook_event_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
    delivery_context: DeliveryContext
    reply_token: Token | None = None
    source: Source | None = None
    message: Message | None = None
    postback: Postback | None = None


def problem(raw: object) -> str | None:
    """None if the event has the shape the bot relies on, else which fields do not.

    Only field paths and error kinds are returned, never the values: they may be
    personal data and the answer is logged.
    """
    try:
        Event.model_validate(raw)
    except ValidationError as error:
        # Two levels name our own fields (`source.userId`); deeper ones could be a
        # sender's dict keys.
        wrong = {
            ".".join(str(part) for part in e["loc"][:2]) or "event": e["type"]
            for e in error.errors(include_url=False, include_input=False, include_context=False)
        }
        return ", ".join(f"{path} ({kind})" for path, kind in sorted(wrong.items())[:5])
    return None

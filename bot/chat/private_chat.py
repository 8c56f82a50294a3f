"""What a group or room gets instead of a personal answer: "message me privately"."""

from __future__ import annotations

from urllib.parse import quote

import flex_templates
from bot.chat.context import Context
from bot.chat.messages import text

# LINE's URL scheme that opens the 1:1 chat with an account, with text typed in the box.
OA_MESSAGE_URL = "https://line.me/R/oaMessage/{account}/"


def hint(ctx: Context, keyword: str | None = None) -> object:
    """One message pointing to the 1:1 chat; its button types `keyword` there for them."""
    said = ctx._("That's personal, so I only answer it in a private chat with you.")
    basic_id = ctx.services.line.basic_id()
    if basic_id is None:
        if keyword:
            said += " " + ctx._("Open my chat and type “%(command)s” there.", command=keyword)
        return text(said)
    return flex_templates.render(
        "private_chat",
        alt_text=said,
        body=said,
        button_label=ctx._("Message me privately"),
        uri=chat_link(basic_id, keyword),
    )


def chat_link(basic_id: str, typed: str | None = None) -> str:
    """Open the chat with the account `basic_id` (`@…`), `typed` prefilled."""
    url = OA_MESSAGE_URL.format(account=quote(basic_id, safe=""))
    return f"{url}?{quote(typed, safe='')}" if typed else url

"""Rich menu links LINE refused earlier: per-user links and unfinished bulk links."""

from __future__ import annotations

from bot.config import Config
from bot.line_api import LineApi
from bot.richmenu import deploy, linking
from bot.store import Store


def retry_menu_links(store: Store, line: LineApi | None, config: Config) -> dict:
    """Link users whose link failed (to the menu they should see now) and finish deploys."""
    if line is None:
        return {}
    done = linking.retry_due(store, line, config)
    finished = deploy.finish_links(store, line, config)
    return {**done, "bulk": finished}

"""Which menu each user sees, and linking it when their role or language changes.

A user's menu follows from what we know of them: owners (ADMIN_LINE_USER_IDS),
active staff, members and followers ("guest"), each in their language. Someone
with no record at all (an erased member) gets no link of their own and sees the
default menu. A link LINE refuses is queued and retried by a job, which works
out the menu afresh, so a second change while LINE was failing still ends on
the right menu.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict

from bot.config import Config
from bot.line_api import LineApi, LineApiError
from bot.richmenu.layout import key_for
from bot.store import Store, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 30  # about a day of retries, an hour apart at the end


def role_of(config: Config, staff_ids: set[str] | None, store: Store, line_user_id: str, member):
    """owner, staff, member or guest; None for someone we hold no record of."""
    if line_user_id in config.ADMIN_LINE_USER_IDS:
        return "owner"
    is_staff = (
        line_user_id in staff_ids if staff_ids is not None else store.is_active_staff(line_user_id)
    )
    if is_staff:
        return "staff"
    status = (member or {}).get("status")
    return {"member": "member", "follower": "guest"}.get(status)


def menu_key(config: Config, store: Store, line_user_id: str, member, staff_ids=None):
    """The key ("member:th") of the menu this user should see; None: the default one."""
    role = role_of(config, staff_ids, store, line_user_id, member)
    if role is None:
        return None
    return key_for(role, (member or {}).get("locale") or config.DEFAULT_LOCALE)


def sync_user(store: Store, line: LineApi, config: Config, line_user_id: str) -> str:
    """Link one user to their menu now; what LINE refuses is queued for the retry job."""
    member = store.member_by_line_id(line_user_id)
    if member is not None and member.get("reachable") is False:
        return "unreachable"  # blocked us: linked again when they come back (follow event)
    menus = store.rich_menus()
    if not menus:
        return "not-deployed"  # `richmenu deploy` links everyone when it first runs
    key = menu_key(config, store, line_user_id, member)
    try:
        if key is None:
            line.unlink_rich_menu(line_user_id)
        elif key in menus:
            line.link_rich_menu(line_user_id, menus[key]["rich_menu_id"])
        else:
            return "not-deployed"
    except LineApiError as error:
        log.warning("rich menu link failed (HTTP %s); queued for a retry", error.status)
        if member is not None:
            store.queue_menu_link(member["_id"], error.said())
        return "queued"
    if member is not None:
        store.clear_menu_link(member["_id"])
    return "linked" if key else "unlinked"


def relink(ctx, line_user_id: str | None = None) -> None:
    """After the reply, link the sender (or `line_user_id`) to the menu they now should see."""
    services = ctx.services
    user = line_user_id or ctx.user_id
    if user:
        task = functools.partial(sync_user, services.store, services.line, services.config, user)
        ctx.after_reply.append(task)


def retry_due(store: Store, line: LineApi, config: Config) -> dict:
    """Links LINE refused earlier whose time has come."""
    done = defaultdict(int)
    for row in store.due_menu_links(utcnow()):
        member = store.member_by_id(row["_id"])
        if member is None or member.get("status") == "erased":
            store.clear_menu_link(row["_id"])
            done["dropped"] += 1
            continue
        outcome = sync_user(store, line, config, member["line_user_id"])
        if outcome == "unreachable":
            store.clear_menu_link(row["_id"])  # linked again when they come back
        elif outcome == "queued" and row["attempts"] >= MAX_ATTEMPTS:
            log.warning("rich menu link given up after %s attempts", row["attempts"])
            store.clear_menu_link(row["_id"])  # their next follow or change links them again
        done[outcome] += 1
    return dict(done)


def audience(store: Store, config: Config) -> dict[str, list[str]]:
    """Every user we can reach, grouped by the key of the menu they should see."""
    staff_ids = {person["_id"] for person in store.list_staff()}
    groups: dict[str, list[str]] = defaultdict(list)
    seen = set()
    fields = {"line_user_id": 1, "status": 1, "locale": 1, "reachable": 1}
    for status in ("member", "follower"):
        for member in store.members_in_status(status, fields):
            seen.add(member["line_user_id"])
            if member.get("reachable") is False:
                continue
            key = menu_key(config, store, member["line_user_id"], member, staff_ids)
            groups[key].append(member["line_user_id"])
    # Staff and owners who never had a follower record of their own.
    for line_user_id in sorted((staff_ids | set(config.ADMIN_LINE_USER_IDS)) - seen):
        groups[menu_key(config, store, line_user_id, None, staff_ids)].append(line_user_id)
    return dict(groups)

"""`flask --app bot richmenu deploy` and `status`: the layout's menus live at LINE, idempotently.

Each menu (role × language) is named after a digest of its JSON and image and
lives under a fixed alias (`samachik-member-th`). Deploying again changes
nothing when every alias already points at a menu of the right digest.

A change happens in an order that never leaves anyone without a menu:

1. new menus are created and their images uploaded — nobody sees them yet, so a
   refusal from LINE (401, 400, 429…) deletes them again and the live menus stay;
2. aliases move to the new menus, the guest menu in DEFAULT_LOCALE becomes the default;
3. everyone is bulk-linked to their new menu (users keep the old one meanwhile);
4. only then are the replaced menus deleted.

A refusal in steps 2–4 leaves old and new menus side by side; the retry job (and
the next deploy) finish the links and the clean-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from bot.config import Config
from bot.i18n import translator
from bot.line_api import LineApi, LineApiError
from bot.richmenu import linking
from bot.richmenu.layout import LAYOUT, Layout, alias_for, all_keys, key_for, menu_object
from bot.richmenu.render import render_png
from bot.store import Store

log = logging.getLogger(__name__)

NAME_PREFIX = "samachik "


class DeployError(Exception):
    """LINE refused part of a deploy; the message says what LINE said and what is live."""


@dataclass(frozen=True)
class Wanted:
    role: str
    locale: str
    menu: dict
    image: bytes
    digest: str

    @property
    def key(self) -> str:
        return key_for(self.role, self.locale)

    @property
    def alias(self) -> str:
        return alias_for(self.role, self.locale)

    @property
    def name(self) -> str:
        return self.menu["name"]


def wanted_menus(layout: Layout = LAYOUT) -> list[Wanted]:
    """Every menu of the layout with its image, named after what it looks like and does."""
    found = []
    for role, locale in all_keys(layout):
        t = translator(locale)
        image = render_png(layout, role, t)
        menu = menu_object(layout, role, t, name="")
        digest = hashlib.sha256(json.dumps(menu, sort_keys=True).encode() + image).hexdigest()[:12]
        menu["name"] = f"{NAME_PREFIX}{role} {locale} {digest}"
        found.append(Wanted(role, locale, menu, image, digest))
    return found


def deploy(store: Store, line: LineApi, config: Config, layout: Layout = LAYOUT) -> list[str]:
    """Make LINE serve the layout's menus; returns what was done, line by line."""
    wanted = wanted_menus(layout)
    try:
        live = {menu["richMenuId"]: menu for menu in line.rich_menus()}
        aliases = line.rich_menu_aliases()
    except LineApiError as error:
        raise DeployError(f"LINE refused to list the rich menus: {error.said()}") from None
    changed = [w for w in wanted if (live.get(aliases.get(w.alias)) or {}).get("name") != w.name]
    report = []
    created = _create(line, changed)
    try:
        for w in wanted:
            if w.key in created:
                line.point_rich_menu_alias(w.alias, created[w.key], exists=w.alias in aliases)
                store.save_rich_menu(w.key, created[w.key], w.alias, w.digest)
                report.append(f"{w.role}/{w.locale}: new menu {created[w.key]}")
            else:
                _adopt(store, w, aliases[w.alias])
        report.append(_set_default(store, line, config))
    except LineApiError as error:
        raise DeployError(
            f"LINE refused a change: {error.said()}. Users keep the menus they had; "
            "run `richmenu deploy` again to finish."
        ) from None
    if not changed:
        report.append(f"all {len(wanted)} menus up to date")
    report += finish_links(store, line, config)
    report += _delete_orphans(
        store, line, [m for m in live.values() if m["richMenuId"] not in set(aliases.values())]
    )
    return report


def _delete_orphans(store: Store, line: LineApi, unaliased: list[dict]) -> list[str]:
    """Our menus that no alias or record knows (left by a deploy that was killed midway)."""
    known = set()
    for record in store.rich_menus().values():
        known |= {record["rich_menu_id"], *(record.get("retired") or [])}
    orphans = [
        m["richMenuId"]
        for m in unaliased
        if m["name"].startswith(NAME_PREFIX) and m["richMenuId"] not in known
    ]
    for menu_id in orphans:
        try:
            line.delete_rich_menu(menu_id)
        except LineApiError as error:
            return [f"could not delete the unused menu {menu_id} ({error.said()})"]
    return [f"deleted {len(orphans)} unused menu(s)"] if orphans else []


def _create(line: LineApi, changed: list[Wanted]) -> dict[str, str]:
    """Create the new menus with their images; on a refusal, delete them and stop."""
    created: dict[str, str] = {}
    try:
        for w in changed:
            created[w.key] = line.create_rich_menu(w.menu)
            line.upload_rich_menu_image(created[w.key], w.image, "image/png")
    except LineApiError as error:
        for menu_id in created.values():
            try:
                line.delete_rich_menu(menu_id)
            except LineApiError:
                log.warning("could not delete the unused rich menu %s", menu_id)
        raise DeployError(
            f"LINE refused the new menus: {error.said()}. Nothing changed: "
            "the menus that were live stay live."
        ) from None
    return created


def _adopt(store: Store, w: Wanted, menu_id: str) -> None:
    """An alias already shows the right menu: make our records agree (e.g. a new database)."""
    if (store.rich_menu(w.key) or {}).get("rich_menu_id") != menu_id:
        store.save_rich_menu(w.key, menu_id, w.alias, w.digest)


def _set_default(store: Store, line: LineApi, config: Config) -> str:
    """The guest menu in the merchant's language, for everyone not linked to a menu yet."""
    guest = store.rich_menu(key_for("guest", config.DEFAULT_LOCALE))
    if line.default_rich_menu() != guest["rich_menu_id"]:
        line.set_default_rich_menu(guest["rich_menu_id"])
        return f"default menu: guest/{config.DEFAULT_LOCALE} {guest['rich_menu_id']}"
    return f"default menu: guest/{config.DEFAULT_LOCALE} (unchanged)"


def finish_links(store: Store, line: LineApi, config: Config) -> list[str]:
    """Bulk-link everyone whose menu was replaced, then delete menus nobody needs any more."""
    report = []
    menus = store.rich_menus()
    waiting = {k: m for k, m in menus.items() if m.get("linked_menu_id") != m["rich_menu_id"]}
    groups = linking.audience(store, config) if waiting else {}
    for key, menu in sorted(waiting.items()):
        users = groups.get(key, [])
        try:
            line.bulk_link_rich_menu(menu["rich_menu_id"], users)
        except LineApiError as error:
            report.append(f"{key}: linking {len(users)} users failed ({error.said()}); will retry")
            continue
        store.mark_rich_menu_linked(key, menu["rich_menu_id"])
        if users:
            report.append(f"{key}: {len(users)} user(s) linked")
    report += _delete_retired(store, line)
    return report


def _delete_retired(store: Store, line: LineApi) -> list[str]:
    report = []
    for key, menu in store.rich_menus().items():
        retired = menu.get("retired") or []
        if not retired or menu.get("linked_menu_id") != menu["rich_menu_id"]:
            continue  # some users may still be linked to a retired menu
        deleted = []
        for menu_id in retired:
            try:
                line.delete_rich_menu(menu_id)
                deleted.append(menu_id)
            except LineApiError as error:
                report.append(f"{key}: could not delete {menu_id} ({error.said()})")
        store.forget_retired_menus(key, deleted)
        if deleted:
            report.append(f"{key}: deleted {len(deleted)} replaced menu(s)")
    return report


def status(store: Store, line: LineApi, config: Config, layout: Layout = LAYOUT) -> list[str]:
    """What LINE serves now, menu by menu, against the layout."""
    live = {menu["richMenuId"]: menu for menu in line.rich_menus()}
    aliases = line.rich_menu_aliases()
    default = line.default_rich_menu()
    records = store.rich_menus()
    lines = []
    for w in wanted_menus(layout):
        menu_id = aliases.get(w.alias)
        menu = live.get(menu_id)
        if menu is None:
            state = "missing: run `flask --app bot richmenu deploy`"
        elif menu["name"] != w.name:
            state = "outdated (the layout changed): run `flask --app bot richmenu deploy`"
        else:
            state = "up to date"
        record = records.get(w.key) or {}
        if menu is not None and record.get("linked_menu_id") != menu_id:
            state += "; users not all linked yet"
        marks = " [default]" if menu_id and menu_id == default else ""
        lines.append(f"{w.role}/{w.locale}: {menu_id or '-'} {state}{marks}")
    ours = [m for m in live.values() if m["name"].startswith(NAME_PREFIX)]
    lines.append(f"menus at LINE: {len(live)} ({len(ours)} of ours)")
    lines.append(f"default menu: {default or 'none'}")
    lines.append(f"user links waiting for a retry: {store.menu_links_waiting()}")
    return lines

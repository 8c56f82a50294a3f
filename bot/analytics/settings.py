"""What a report needs to turn counts into money: message cost and point value."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store import Store

SETTING = "report_settings"
# LINE Official Account (Thailand) charges about ฿0.10 a message beyond the plan's
# quota; 1 point per ฿25 spent is worth about 1% back, ฿0.25 a point.
DEFAULTS = {"message_cost": 10, "point_value": 25}  # satang
NAMES = tuple(DEFAULTS)


@dataclass(frozen=True)
class ReportSettings:
    message_cost: int = DEFAULTS["message_cost"]  # minor units per message
    point_value: int = DEFAULTS["point_value"]  # minor units per point
    currency: str = "THB"


def load(store: Store) -> ReportSettings:
    saved = {**DEFAULTS, **(store.get_setting(SETTING) or {})}
    currency = (store.get_setting("merchant") or {}).get("currency", "THB")
    return ReportSettings(int(saved["message_cost"]), int(saved["point_value"]), currency)


def save(store: Store, name: str, minor_units: int) -> ReportSettings:
    if name not in NAMES or minor_units < 0:
        raise ValueError(name)
    store.put_setting(SETTING, {**(store.get_setting(SETTING) or {}), name: int(minor_units)})
    return load(store)

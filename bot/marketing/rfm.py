"""RFM scoring (pure): quintile scores and the named groups.

Each member with at least one visit gets 1–5 for recency (days since the last
visit; 5 = most recent fifth of the merchant's members), frequency (visits)
and monetary value (spend), by quintiles of the merchant's own members. The
group comes from R and FM = round((F + M) / 2):

    R \\ FM   1               2                    3               4–5
    5        new             potential_loyalists  loyal           champions
    4        promising       potential_loyalists  loyal           champions
    3        about_to_sleep  about_to_sleep       need_attention  loyal
    2        hibernating     hibernating          at_risk         at_risk
    1        lost            lost                 at_risk         cant_lose
"""

from __future__ import annotations

import bisect
import math
from array import array

GROUPS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
)

_GRID = {
    5: ("new", "potential_loyalists", "loyal", "champions", "champions"),
    4: ("promising", "potential_loyalists", "loyal", "champions", "champions"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "at_risk"),
    1: ("lost", "lost", "at_risk", "cant_lose", "cant_lose"),
}


def group(recency: int, frequency: int, monetary: int) -> str:
    fm = math.floor((frequency + monetary) / 2 + 0.5)
    return _GRID[recency][fm - 1]


def thresholds(values: array) -> list[float]:
    """The four quintile cut points of `values` (sorted copy, 4 bytes per member)."""
    ordered = sorted(values)
    count = len(ordered)
    return [ordered[min(count - 1, (count * k) // 5)] for k in range(1, 5)] if count else []


def score(value: float, cuts: list[float], higher_is_better: bool = True) -> int:
    """1–5: how many quintile cut points the value reaches."""
    if not cuts:
        return 3
    reached = bisect.bisect_right(cuts, value)
    return 1 + reached if higher_is_better else 5 - bisect.bisect_left(cuts, value)

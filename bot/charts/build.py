"""From a chart spec to an image: numbers from `bot.analytics`, drawing by `render`.

There is one implementation of every number: this module only asks
`merchant_kpis`, `retention_cohorts` and `campaign_report` — the functions
behind `/stats` and `/campaign show` — and arranges what they return.
Images are kept in a small per-process cache keyed by the whole spec (which
fixes the as-of time), so LINE's repeated fetches and a page reload are free.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from bot.analytics import kpis as kpi_module
from bot.analytics.campaign_report import campaign_report
from bot.charts import labels, render
from bot.charts.specs import ChartSpec
from bot.i18n import N_, Translator, translator
from bot.marketing import rfm

NO_DATA = N_("No data yet")
CACHE_SIZE = 128


class _Cache:
    """A small least-recently-used cache shared by the threads of one process."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_images = _Cache(CACHE_SIZE)
_kpis = _Cache(16)
_reports = _Cache(32)


def image(services, spec: ChartSpec, fmt: str = "png") -> bytes:
    """The chart as PNG or SVG bytes: drawn once, then kept until its URL expires.

    Kept in this process and in the database, so every web process (and LINE,
    fetching a hero image again days later) gets the very same picture.
    """
    key = hashlib.sha256(repr((spec, fmt)).encode()).hexdigest()
    local = (services.config.MONGODB_DB, key)
    found = _images.get(local) or services.store.chart_image(key)
    if found is None:
        found = draw(services, spec, fmt)
        expires = datetime.fromtimestamp(spec.expires or spec.at, UTC)
        services.store.save_chart_image(key, found, expires)
    _images.put(local, found)
    return found


def draw(services, spec: ChartSpec, fmt: str = "png") -> bytes:
    t = translator(spec.locale)
    size = render.SIZES.get(spec.size, render.SIZES["wide"])
    if spec.kind == "campaign":
        size = render.TALL.get(spec.size, size)
    build = BUILDERS[spec.kind](services, spec, t)
    return render.draw(build, size, fmt)


def kpis_for(services, spec: ChartSpec):
    """`merchant_kpis` for the spec's period, branch and time (shared by its charts)."""
    key = (services.config.MONGODB_DB, spec.period, spec.branch, spec.at)
    found = _kpis.get(key)
    if found is None:
        found = kpi_module.merchant_kpis(
            services.store,
            period=spec.period,
            branch=spec.branch,
            now=_as_of(spec),
            config=services.config,
        )
        _kpis.put(key, found)
    return found


def report_for(services, campaign_id: str, at: int):
    """`campaign_report` as of `at` (a page and its chart ask once between them)."""
    key = (services.config.MONGODB_DB, campaign_id, at)
    found = _reports.get(key)
    if found is None:
        found = campaign_report(
            services.store,
            campaign_id,
            now=datetime.fromtimestamp(at, UTC),
            config=services.config,
        )
        _reports.put(key, found)
    return found


def _as_of(spec: ChartSpec) -> datetime:
    return datetime.fromtimestamp(spec.at, UTC)


# -- one builder per kind: (services, spec, translator) -> figure builder ------------------


def _campaign(services, spec: ChartSpec, t: Translator) -> Callable:
    report = report_for(services, spec.campaign_id or "", spec.at)
    arms = []
    if report is not None and report.total.treatment.members:
        arms.append((t._(labels.TREATMENT), report.total.treatment))
        if report.total.holdout.members:
            arms.append((t._(labels.HOLDOUT), report.total.holdout))
    currency = report.settings.currency if report else "THB"
    window = report.window_days if report else 7
    return partial(
        render.ab_comparison,
        arms=arms,
        titles=(
            t.n_("Bought within %(count)s day", "Bought within %(count)s days", window),
            t._("Revenue per member"),
        ),
        percent=partial(labels.percent, t),
        money=lambda v: labels.money_short(t, v, currency),
        empty_message=t._(NO_DATA),
    )


def _daily(services, spec: ChartSpec, t: Translator) -> Callable:
    found = kpis_for(services, spec)
    return partial(
        render.daily_revenue,
        days=[p.date for p in found.daily],
        revenue=[p.revenue for p in found.daily],
        sends=[(s.date, s.name) for s in found.sends],
        # Pages title their charts in HTML; a Flex hero stands alone.
        title=t._("Revenue per day") if spec.size == "flex" else "",
        money=lambda v: labels.money_short(t, v),
        day_label=partial(labels.short_day, t),
        send_label=t._("Campaign sent"),
        empty_message=t._(NO_DATA),
    )


def _funnel(services, spec: ChartSpec, t: Translator) -> Callable:
    found = kpis_for(services, spec)
    return partial(
        render.funnel,
        stages=[(labels.stage(t, s.stage), s.count) for s in found.funnel],
        number=t.number,
        percent=partial(labels.percent, t),
        empty_message=t._(NO_DATA),
    )


def _cohorts(services, spec: ChartSpec, t: Translator) -> Callable:
    cohorts = kpi_module.retention_cohorts(services.store, now=_as_of(spec), config=services.config)
    width = max((len(c.shares) for c in cohorts), default=0)
    return partial(
        render.grid,
        rows=[f"{labels.month(t, c.month)} · {t.number(c.size)}" for c in cohorts],
        columns=[str(i) for i in range(width)],
        values=[[*c.shares, *[None] * (width - len(c.shares))] for c in cohorts],
        label=partial(labels.percent, t),
        title="",
        xlabel=t._("Months after the first purchase"),
        empty_message=t._(NO_DATA),
        # Month 0 is 100% by definition: colour by the later months, where cohorts differ.
        vmax=max((s for c in cohorts for s in c.shares[1:] if s is not None), default=None),
    )


def _rfm(services, spec: ChartSpec, t: Translator) -> Callable:
    found = kpis_for(services, spec)
    grid = found.rfm_grid or [[0] * 5 for _ in range(5)]
    recency = [5, 4, 3, 2, 1]  # most recent on top
    return partial(
        render.grid,
        rows=[str(r) for r in recency],
        columns=[str(fm) for fm in range(1, 6)],
        values=[grid[r - 1] for r in recency],
        label=t.number,
        # Group names fit a cell on a laptop or in chat; on a phone the table names them.
        notes=None
        if spec.size == "narrow"
        else [[labels.rfm_group(t, rfm.group(r, fm, fm)) for fm in range(1, 6)] for r in recency],
        title="",
        xlabel=t._("Frequency and spend (5 = most)"),
        ylabel=t._("Recency (5 = most recent)"),
        cmap="Blues",
        empty_message=t._(NO_DATA),
    )


def _heatmap(services, spec: ChartSpec, t: Translator) -> Callable:
    found = kpis_for(services, spec)
    return partial(
        render.grid,
        rows=labels.weekdays(t),
        columns=[str(h) for h in range(24)],
        values=found.heatmap or [[0] * 24 for _ in range(7)],
        label=t.number,
        title="",
        xlabel=t._("Hour of the day"),
        cmap="YlOrBr",
        annotate=False,
        empty_message=t._(NO_DATA),
    )


BUILDERS: dict[str, Callable] = {
    "campaign": _campaign,
    "daily": _daily,
    "funnel": _funnel,
    "cohorts": _cohorts,
    "rfm": _rfm,
    "heatmap": _heatmap,
}

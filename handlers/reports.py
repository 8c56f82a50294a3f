"""Owners: `/stats [7d|30d|90d|12m] [branch]` and the report settings (`/stats set …`)."""

from __future__ import annotations

from bot.analytics import kpis
from bot.analytics import settings as report_settings
from bot.analytics.campaign_report import campaign_report
from bot.analytics.messages import results_message, stats_message
from bot.charts.specs import chart_url, for_chat
from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.store import utcnow
from handlers.earn import parse_amount

USAGE = N_(
    "Usage: /stats [7d|30d|90d|12m] [branch] — for example /stats 7d asoke.\n"
    "/stats set message_cost <baht per message> · /stats set point_value <baht per point>"
)


def register(registry: Registry) -> None:
    registry.command(
        "/stats",
        role=Role.OWNER,
        summary=N_("the shop's KPIs against the period before"),
        usage=N_("[7d|30d|90d|12m] [branch]"),
    )(stats)


def stats(ctx: Context) -> list:
    """KPIs for a period (and branch) as a Flex summary, or change a report setting."""
    if ctx.args and ctx.args[0].lower() == "set":
        return set_value(ctx, ctx.args[1:])
    branches = {b["_id"]: b.get("name", b["_id"]) for b in ctx.store.list_branches()}
    try:
        period, branch = kpis.parse_stats_args(ctx.args, set(branches))
    except kpis.UsageError:
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
    now = utcnow().replace(microsecond=0)  # the hero chart is as of the same second
    found = kpis.merchant_kpis(ctx.store, period=period, branch=branch, now=now, config=ctx.config)
    merchant = (ctx.store.get_setting("merchant") or {}).get("name", "Samachik")
    name = branches.get(branch) if branch else None
    hero = chart_url(
        ctx.config,
        for_chat("daily", ctx.t.locale, int(now.timestamp()), period=period, branch=branch),
    )
    return [stats_message(ctx.t, found, merchant, ctx.config.tz, name, hero)]


def set_value(ctx: Context, words: list[str]) -> list:
    """`/stats set message_cost 0.10` or `point_value 0.25` (baht)."""
    name = words[0].lower() if words else ""
    amount = parse_amount(words[1]) if len(words) == 2 else None
    if name not in report_settings.NAMES or amount is None:
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
    saved = report_settings.save(ctx.store, name, amount)
    return [
        text(
            ctx._(
                "Saved: a message costs %(cost)s, a point is worth %(value)s.",
                cost=ctx.t.money(saved.message_cost, saved.currency),
                value=ctx.t.money(saved.point_value, saved.currency),
            )
        )
    ]


def campaign_results(ctx: Context, campaign_id: str) -> list:
    """The results part of `/campaign show` (handlers/campaigns.py calls this)."""
    report = campaign_report(ctx.store, campaign_id, now=utcnow(), config=ctx.config)
    if report is None or not report.runs:
        return []
    return [results_message(ctx.t, report, ctx.config.tz)]

"""The dashboard's pages, server-rendered, for the signed-in owner only.

Numbers come from `bot.analytics` (`merchant_kpis`, `retention_cohorts`,
`campaign_report`): the pages choose, label and format, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, g, render_template, request, url_for

from bot.analytics import kpis as kpi_module
from bot.analytics.messages import PERIOD_LABELS, VERDICTS
from bot.charts import build, labels
from bot.charts.specs import ChartSpec, make_token
from bot.i18n import N_
from bot.loyalty.member_codes import clean, looks_like_code
from bot.loyalty.rewards import reward_name
from bot.members.profile_fields import InvalidAnswer, parse_phone
from bot.web.auth import SESSION_LIFETIME, owner_required, private

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.after_request(private)

STATUS_LABELS = {
    "draft": N_("draft"),
    "scheduled": N_("scheduled"),
    "running": N_("sending"),
    "paused": N_("paused"),
    "cancelled": N_("cancelled"),
    "quota": N_("stopped by the monthly quota"),
    "done": N_("finished"),
}
# Short words for the list; the campaign's own page says it in a sentence.
OUTCOMES = {
    "positive": N_("worked"),
    "negative": N_("did worse"),
    "inconclusive": N_("too early to tell"),
    "no_holdout": N_("no holdout"),
    "no_data": N_("no results yet"),
}
LISTED_WITH_RESULTS = 20  # each report reads its runs' purchases: keep the list quick


@dataclass(frozen=True)
class Card:
    """One KPI tile: its label, the metric and how to format it."""

    key: str  # the Kpis field (tests and screenshots find the tile by it)
    label: str
    metric: object
    kind: str  # money, number, percent


def _services():
    return current_app.extensions["samachik"]


def _now() -> datetime:
    # To the minute: reloads within a minute reuse the charts already drawn.
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _selection() -> tuple[str, str | None]:
    """The period and branch asked for, falling back to 30 days and every branch."""
    period = request.args.get("period", kpi_module.DEFAULT_PERIOD)
    if period not in kpi_module.PERIODS:
        period = kpi_module.DEFAULT_PERIOD
    branch = request.args.get("branch") or None
    if branch is not None and _services().store.branch(branch) is None:
        branch = None
    return period, branch


def chart(kind: str, at: int, **params) -> dict:
    """URLs of one chart for a laptop and a phone; they expire with the session."""
    services = _services()
    urls = {}
    for size in ("wide", "narrow"):
        spec = ChartSpec(
            kind=kind,
            locale=g.lang,
            size=size,
            at=at,
            expires=at + int(SESSION_LIFETIME.total_seconds()),
            **params,
        )
        urls[size] = url_for(
            "charts.chart_image", token=make_token(services.config, spec), fmt="png"
        )
    return urls


def _kpis(period: str, branch: str | None, at: int):
    # Through the chart builder's memo, so this page's charts reuse the same numbers.
    spec = ChartSpec(kind="daily", locale=g.lang, period=period, branch=branch, at=at)
    return build.kpis_for(_services(), spec)


def _page(template: str, **context):
    period, branch = _selection()
    return render_template(
        f"dashboard/{template}",
        period=period,
        branch=branch,
        periods=[(key, g.t._(label)) for key, label in PERIOD_LABELS.items()],
        branches=_services().store.list_branches(),
        merchant=(_services().store.get_setting("merchant") or {}).get("name") or "Samachik",
        **context,
    )


@bp.get("/")
@owner_required
def overview():
    """KPIs for the period and branch, revenue per day with sends, busy hours."""
    period, branch = _selection()
    at = int(_now().timestamp())
    found = _kpis(period, branch, at)
    cards = [
        Card("revenue", g.t._("Revenue"), found.revenue, "money"),
        Card("purchases", g.t._("Purchases"), found.purchases, "number"),
        Card("average_ticket", g.t._("Average ticket"), found.average_ticket, "money"),
        Card("active_members", g.t._("Active members"), found.active_members, "number"),
        Card("members_new", g.t._("New members"), found.members_new, "number"),
        Card("members_total", g.t._("Members"), found.members_total, "number"),
        Card("retention", g.t._("Retention"), found.retention, "percent"),
        Card("repeat_rate", g.t._("Repeat rate"), found.repeat_rate, "percent"),
        Card("clv", g.t._("Revenue per member (since joining)"), found.clv, "money"),
        Card("points_issued", g.t._("Points issued"), found.points_issued, "number"),
        Card("points_redeemed", g.t._("Points redeemed"), found.points_redeemed, "number"),
        Card("liability", g.t._("Points liability"), found.liability, "money"),
    ]
    return _page(
        "overview.html",
        kpis=found,
        cards=cards,
        daily_chart=chart("daily", at, period=period, branch=branch),
        heatmap_chart=chart("heatmap", at, period=period, branch=branch),
        active="overview",
    )


@bp.get("/funnel")
@owner_required
def funnel():
    """From friends of the account to top-tier members."""
    period, branch = _selection()
    at = int(_now().timestamp())
    found = _kpis(period, branch, at)
    stages = [(labels.stage(g.t, s.stage), s.count, s.conversion) for s in found.funnel]
    return _page(
        "funnel.html",
        kpis=found,
        stages=stages,
        funnel_chart=chart("funnel", at, period=period, branch=branch),
        rewards=[
            (reward_name({"_id": r.reward_id, "names": r.names}, g.lang), r.count, r.previous)
            for r in found.top_rewards
        ],
        active="funnel",
    )


@bp.get("/retention")
@owner_required
def retention():
    """Retention against the period before, and monthly cohorts."""
    period, branch = _selection()
    at = int(_now().timestamp())
    found = _kpis(period, branch, at)
    return _page(
        "retention.html",
        kpis=found,
        cohort_chart=chart("cohorts", at),
        active="retention",
    )


@bp.get("/rfm")
@owner_required
def rfm_page():
    """The RFM grid and each group's size and revenue per member."""
    period, branch = _selection()
    at = int(_now().timestamp())
    found = _kpis(period, branch, at)
    groups = [
        (labels.rfm_group(g.t, key), found.rfm_groups.get(key, 0), found.clv_by_group.get(key))
        for key in labels.RFM_GROUPS
    ]
    return _page(
        "rfm.html",
        kpis=found,
        groups=groups,
        rfm_chart=chart("rfm", at, period=period, branch=branch),
        active="rfm",
    )


@bp.get("/branches")
@owner_required
def branches():
    """Each branch's revenue, purchases, buyers and average ticket."""
    period, _branch = _selection()
    at = int(_now().timestamp())
    found = _kpis(period, None, at)
    rows = sorted(found.branches, key=lambda row: row.revenue.value or 0, reverse=True)
    return _page("branches.html", kpis=found, rows=rows, active="branches")


@bp.get("/campaigns")
@owner_required
def campaigns():
    """Campaigns and journeys, newest first, the latest with their results."""
    services = _services()
    at = int(_now().timestamp())
    found = list(reversed(services.store.list_campaigns()))
    reports = {
        c["_id"]: build.report_for(services, c["_id"], at) for c in found[:LISTED_WITH_RESULTS]
    }
    return _page(
        "campaigns.html",
        campaigns=found,
        reports=reports,
        statuses={k: g.t._(v) for k, v in STATUS_LABELS.items()},
        outcomes={k: g.t._(v) for k, v in OUTCOMES.items()},
        active="campaigns",
    )


@bp.get("/campaigns/<campaign_id>")
@owner_required
def campaign(campaign_id: str):
    """One campaign's results: treatment against holdout, per run and in total."""
    at = int(_now().timestamp())
    report = build.report_for(_services(), campaign_id, at)
    if report is None:
        abort(404)
    return _page(
        "campaign.html",
        report=report,
        status=g.t._(STATUS_LABELS.get(report.status, report.status)),
        verdict=g.t._(VERDICTS.get(report.total.verdict, report.total.verdict)),
        outcomes={k: g.t._(v) for k, v in OUTCOMES.items()},
        ab_chart=chart("campaign", at, campaign_id=campaign_id),
        treatment=g.t._(labels.TREATMENT),
        holdout=g.t._(labels.HOLDOUT),
        active="campaigns",
    )


@bp.get("/members")
@owner_required
def members():
    """Find a member by code or phone number (no personal fields in the list)."""
    query = request.args.get("q", "").strip()
    found = _search(query) if query else []
    return _page("members.html", query=query, found=found, active="members")


def _search(query: str) -> list[dict]:
    store = _services().store
    member = None
    if looks_like_code(query):
        member = store.member_by_code(clean(query))
    if member is None:
        try:
            member = store.member_by_phone(parse_phone(query))
        except InvalidAnswer:
            member = None
    return [member] if member and member.get("status") == "member" else []


@bp.get("/members/<member_id>")
@owner_required
def member(member_id: str):
    """One member, with their personal fields (audited: someone looked)."""
    store = _services().store
    found = store.member_by_id(member_id)
    if found is None or found.get("status") != "member":
        abort(404)
    store.audit(g.owner, "owner", "dashboard member", [found.get("code", "")], "ok", member_id)
    purchases = store.active_purchases(member_id)[-10:][::-1]
    rfm_group = (found.get("rfm") or {}).get("group")
    return _page(
        "member.html",
        member=found,
        profile=found.get("profile") or {},
        stats=found.get("stats") or {},
        purchases=purchases,
        rfm_group=labels.rfm_group(g.t, rfm_group) if rfm_group else "–",
        active="members",
    )

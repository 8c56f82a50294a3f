"""CSV downloads for the owner: members (personal fields only when asked), purchases,
and a campaign's results (from `campaign_report`, the same numbers as the page)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import Blueprint, Response, abort, current_app, g, request, stream_with_context

from bot.analytics import kpis as kpi_module
from bot.analytics.campaign_report import campaign_report
from bot.members.profile_fields import FIELDS as PERSONAL_FIELDS
from bot.web.auth import owner_required, private

bp = Blueprint("exports", __name__, url_prefix="/dashboard/export")
bp.after_request(private)

MEMBER_COLUMNS = [
    "member_id",
    "code",
    "joined_at",
    "tier",
    "points",
    "visits",
    "spend",
    "average_ticket",
    "first_visit",
    "last_visit",
    "rfm_group",
    "marketing_opt_in",
    "language",
    "branches",
    "tags",
]
PURCHASE_COLUMNS = [
    "purchase_id",
    "created_at",
    "local_date",
    "member_id",
    "branch",
    "amount",
    "points",
    "status",
    "receipt",
    "coupon",
]


def _services():
    return current_app.extensions["samachik"]


def _money(minor_units) -> str:
    """Minor units as a plain decimal (฿ amounts to 2 places), for spreadsheets."""
    if minor_units is None:
        return ""
    return str(Decimal(round(minor_units)).scaleb(-2))


def _when(value) -> str:
    if value is None:
        return ""
    tz = _services().config.tz
    return value.astimezone(tz).isoformat(timespec="seconds")


def _csv(rows: Iterable[list], header: list[str], filename: str) -> Response:
    """Stream rows as a UTF-8 CSV (with a BOM, so spreadsheet apps read Thai and Chinese)."""

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/members.csv")
@owner_required
def members_csv():
    """Members without personal fields; `?personal=1` adds them (and is audited)."""
    personal = request.args.get("personal") == "1"
    store = _services().store
    header = MEMBER_COLUMNS + (list(PERSONAL_FIELDS) if personal else [])
    if personal:
        store.audit(g.owner, "owner", "dashboard export", ["members", "personal"], "ok")
    fields = None if personal else {"profile": 0, "line_user_id": 0, "consents": 0}

    def rows():
        for page in store.member_pages({"status": "member"}, fields):
            for member in page:
                yield _member_row(member, personal)

    return _csv(rows(), header, "members.csv")


def _member_row(member: dict, personal: bool) -> list:
    stats = member.get("stats") or {}
    row = [
        member["_id"],
        member.get("code", ""),
        _when(member.get("joined_at")),
        member.get("tier") or "",
        member.get("points", 0),
        stats.get("visits", 0),
        _money(stats.get("spend", 0)),
        _money(stats.get("avg")),
        _when(stats.get("first_visit")),
        _when(stats.get("last_visit")),
        (member.get("rfm") or {}).get("group", ""),
        "yes" if member.get("marketing_opt_in") else "no",
        member.get("locale", ""),
        " ".join(stats.get("branch_list") or []),
        " ".join(member.get("tags") or []),
    ]
    if personal:
        profile = member.get("profile") or {}
        row += [profile.get(field, "") for field in PERSONAL_FIELDS]
    return row


@bp.get("/purchases.csv")
@owner_required
def purchases_csv():
    """Purchases of the chosen period (and branch), oldest first; no personal fields."""
    period = request.args.get("period", kpi_module.DEFAULT_PERIOD)
    days = kpi_module.PERIODS.get(period, kpi_module.PERIODS[kpi_module.DEFAULT_PERIOD])
    branch = request.args.get("branch") or None
    end = datetime.now(UTC)
    store = _services().store

    def rows():
        for page in store.purchase_pages(end - timedelta(days=days), end):
            for purchase in page:
                if branch and purchase.get("branch") != branch:
                    continue
                yield [
                    purchase["_id"],
                    _when(purchase.get("created_at")),
                    purchase.get("local_date", ""),
                    purchase.get("member_id", ""),
                    purchase.get("branch") or "",
                    _money(purchase.get("amount", 0)),
                    purchase.get("points", 0),
                    purchase.get("status", ""),
                    purchase.get("receipt") or "",
                    purchase.get("coupon") or "",
                ]

    return _csv(rows(), PURCHASE_COLUMNS, f"purchases-{period}.csv")


CAMPAIGN_COLUMNS = [
    "scope",
    "started_at",
    "window_end",
    "targeted",
    "held_out",
    "sent",
    "failed",
    "clicks",
    "coupons_redeemed",
    *[
        f"{group}_{name}"
        for group in ("treatment", "holdout")
        for name in (
            "members",
            "purchasers",
            "conversion",
            "conversion_low",
            "conversion_high",
            "revenue",
            "revenue_per_member",
            "revenue_per_member_low",
            "revenue_per_member_high",
        )
    ],
    "uplift",
    "uplift_low",
    "uplift_high",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
    "cost",
    "return_per_baht",
    "verdict",
]


@bp.get("/campaigns/<campaign_id>.csv")
@owner_required
def campaign_csv(campaign_id: str):
    """One row per run and one for the total: counts, both groups, uplift, cost, verdict."""
    services = _services()
    report = campaign_report(
        services.store, campaign_id, now=datetime.now(UTC), config=services.config
    )
    if report is None:
        abort(404)
    rows = [
        _result_row(run.run_id, run.started_at, run.window_end, run.counts, run.results)
        for run in report.runs
    ]
    rows.append(_result_row("total", None, None, report.counts, report.total))
    return _csv(rows, CAMPAIGN_COLUMNS, f"campaign-{campaign_id}.csv")


def _share(value) -> str:
    return "" if value is None else f"{value:.4f}"


def _bounds(interval, convert) -> list[str]:
    return ["", ""] if interval is None else [convert(interval.low), convert(interval.high)]


def _result_row(scope, started, window_end, counts, results) -> list:
    row = [
        scope,
        _when(started),
        _when(window_end),
        counts.targeted,
        counts.held_out,
        counts.sent,
        counts.failed,
        counts.clicks,
        counts.coupons_redeemed,
    ]
    for group in (results.treatment, results.holdout):
        row += [
            group.members,
            group.purchasers,
            _share(group.conversion),
            *_bounds(group.conversion_ci, _share),
            _money(group.revenue),
            _money(group.revenue_per_member),
            *_bounds(group.revenue_per_member_ci, _money),
        ]
    row += [
        _share(results.uplift.absolute),
        *_bounds(results.uplift.ci, _share),
        _money(results.incremental_revenue.value),
        *_bounds(results.incremental_revenue.ci, _money),
        _money(results.cost.total),
        "" if results.return_per_baht.value is None else f"{results.return_per_baht.value:.2f}",
        results.verdict,
    ]
    return row

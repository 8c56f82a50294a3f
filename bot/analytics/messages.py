"""Reports in the owner's language: campaign results as text, KPIs as a Flex summary."""

from __future__ import annotations

from babel import dates, numbers

import flex_templates
from bot.analytics.campaign_report import CampaignReport, Results, RunReport, significant
from bot.analytics.kpis import Kpis, Metric
from bot.chat.messages import say, text
from bot.i18n import N_, Translator
from bot.loyalty.rewards import reward_name

VERDICTS = {
    "positive": N_("It worked: members who got it bought more than the holdout."),
    "negative": N_("Members who got it bought less than the holdout."),
    "inconclusive": N_("Too few members to tell yet."),
    "no_holdout": N_("No holdout: nothing to compare with."),
    "no_data": N_("No data yet."),
}
FUNNEL_LABELS = {
    "followers": N_("LINE followers"),
    "members": N_("Members"),
    "first_purchase": N_("First purchase"),
    "repeat": N_("Repeat buyers"),
    "top_tier": N_("Top tier"),
}
RFM_LABELS = {
    "champions": N_("Champions"),
    "loyal": N_("Loyal"),
    "potential_loyalists": N_("Potential loyalists"),
    "new": N_("New"),
    "promising": N_("Promising"),
    "need_attention": N_("Need attention"),
    "about_to_sleep": N_("About to sleep"),
    "at_risk": N_("At risk"),
    "cant_lose": N_("Can't lose"),
    "hibernating": N_("Hibernating"),
    "lost": N_("Lost"),
}
PERIOD_LABELS = {
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "90d": N_("Last 90 days"),
    "12m": N_("Last 12 months"),
}
GREEN, RED, GREY = "#0B6E4F", "#C0392B", "#888888"


def percent(t: Translator, share: float | None) -> str:
    if share is None:
        return "—"
    return numbers.format_percent(share, format="#,##0.0%", locale=t.babel_locale)


def signed_points(t: Translator, share: float) -> str:
    """A difference of shares in percentage points: +8.1."""
    value = numbers.format_decimal(abs(share) * 100, format="#,##0.0", locale=t.babel_locale)
    return ("+" if share >= 0 else "−") + value


def money(t: Translator, minor: float | None, currency: str = "THB") -> str:
    return "—" if minor is None else t.money(round(minor), currency)


# -- campaign results ----------------------------------------------------------------------


def campaign_results_text(t: Translator, report: CampaignReport, tz) -> str:
    """Delivery counts, both groups, uplift, incremental revenue, cost and return."""
    c = report.counts
    cur = report.settings.currency
    lines = [
        t._(
            "Results (%(runs)s, attribution window %(days)s days):",
            runs=t.n_("%(count)s run", "%(count)s runs", len(report.runs)),
            days=t.number(report.window_days),
        ),
        t._(
            "Targeted %(targeted)s · held out %(held)s · sent %(sent)s · failed %(failed)s · "
            "blocked %(blocked)s · opted out %(optout)s · capped %(capped)s",
            targeted=t.number(c.targeted),
            held=t.number(c.held_out),
            sent=t.number(c.sent),
            failed=t.number(c.failed),
            blocked=t.number(c.blocked),
            optout=t.number(c.opted_out),
            capped=t.number(c.capped),
        ),
        t._(
            "Unique clicks %(clicks)s · coupons used %(used)s of %(issued)s",
            clicks=t.number(c.clicks),
            used=t.number(c.coupons_redeemed),
            issued=t.number(c.coupons_issued),
        ),
        *_results_lines(t, report.total, cur),
    ]
    open_runs = [run for run in report.runs if not run.window_closed]
    if open_runs:
        lines.append(
            t._(
                "Window open until %(date)s: figures so far.",
                date=t.datetime(open_runs[-1].window_end, tz, "short"),
            )
        )
    if len(report.runs) > 1:
        lines.append(t._("Per run:"))
        lines += [_run_line(t, run, tz) for run in report.runs]
    return "\n".join(lines)


def _results_lines(t: Translator, r: Results, currency: str) -> list[str]:
    lines = []
    for label, group in ((N_("Treatment"), r.treatment), (N_("Holdout"), r.holdout)):
        if not group.members:
            continue
        lines.append(
            t._(
                "%(group)s: %(buyers)s of %(members)s bought (%(rate)s), %(rpm)s per member",
                group=t._(label),
                buyers=t.number(group.purchasers),
                members=t.number(group.members),
                rate=percent(t, group.conversion),
                rpm=money(t, group.revenue_per_member, currency),
            )
        )
    if r.verdict in ("no_data", "no_holdout"):
        return [*lines, t._(VERDICTS[r.verdict])]
    uplift = r.uplift
    if uplift.ci is not None:
        lines.append(
            t._(
                "Uplift: %(points)s percentage points (%(relative)s), 95%% interval %(low)s to "
                "%(high)s",
                points=signed_points(t, uplift.absolute),
                relative=percent(t, uplift.relative),
                low=signed_points(t, uplift.ci.low),
                high=signed_points(t, uplift.ci.high),
            )
        )
    treated, held = r.treatment.members, r.holdout.members
    revenue = r.incremental_revenue
    if revenue.ci is not None:
        lines.append(
            t._(
                "Incremental revenue: %(value)s (95%% interval %(low)s to %(high)s)",
                value=money(t, revenue.value, currency),
                low=money(t, revenue.ci.low, currency),
                high=money(t, revenue.ci.high, currency),
            )
        )
    lines.append(
        t._(
            "Cost: %(total)s (%(messages)s messages %(message_cost)s, coupons %(coupons)s)",
            total=money(t, r.cost.total, currency),
            messages=t.number(r.cost.messages),
            message_cost=money(t, r.cost.message_cost, currency),
            coupons=money(t, r.cost.coupon_discounts, currency),
        )
    )
    if r.return_per_baht.value is not None and significant(revenue, treated, held):
        lines.append(
            t._(
                "Return: %(value)s per %(unit)s spent",
                value=money(t, r.return_per_baht.value * 100, currency),
                unit=money(t, 100, currency),
            )
        )
    lines.append(t._(VERDICTS[r.verdict]))
    if r.verdict == "positive" and not significant(revenue, treated, held):
        lines.append(t._("Revenue: too few members to tell yet."))
    return lines


def _run_line(t: Translator, run: RunReport, tz) -> str:
    r = run.results
    uplift = signed_points(t, r.uplift.absolute) if r.uplift.absolute is not None else "—"
    return t._(
        "• %(date)s: %(targeted)s targeted, %(sent)s sent, uplift %(uplift)s points — %(verdict)s",
        date=t.date(run.started_at.astimezone(tz)) if run.started_at else "—",
        targeted=t.number(run.counts.targeted),
        sent=t.number(run.counts.sent),
        uplift=uplift,
        verdict=t._(VERDICTS[r.verdict]),
    )


def headline(t: Translator, results: Results, currency: str) -> str:
    """One line for a push: the verdict with the uplift and incremental revenue."""
    if results.verdict in ("no_data", "no_holdout") or results.uplift.absolute is None:
        return t._(VERDICTS[results.verdict])
    return t._(
        "Uplift %(points)s percentage points, incremental revenue %(revenue)s. %(verdict)s",
        points=signed_points(t, results.uplift.absolute),
        revenue=money(t, results.incremental_revenue.value, currency),
        verdict=t._(VERDICTS[results.verdict]),
    )


def report_button(t: Translator, campaign_id: str):
    """Quick reply that asks for the full report (a URL once the dashboard has one)."""
    return say(t._("Full report"), f"/campaign show {campaign_id}")


def results_message(t: Translator, report: CampaignReport, tz):
    return text(campaign_results_text(t, report, tz))


# -- KPIs --------------------------------------------------------------------------------------


def _change(t: Translator, metric: Metric, kind: str) -> tuple[str, str]:
    """The change against the previous period, and its colour."""
    change = metric.change
    if not change:
        return "", GREY
    colour = GREEN if change > 0 else RED if change < 0 else GREY
    if kind == "share":
        return signed_points(t, change), colour
    ratio = metric.change_ratio
    if ratio is None:
        return ("+" if change > 0 else "") + _format(t, change, kind), colour
    sign = "+" if ratio >= 0 else "−"
    return sign + percent(t, abs(ratio)), colour


def _format(t: Translator, value, kind: str, currency: str = "THB") -> str:
    if value is None:
        return "—"
    if kind == "money":
        return money(t, value, currency)
    if kind == "share":
        return percent(t, value)
    return t.number(round(value))


def _row(t: Translator, label: str, metric: Metric, kind: str = "count", currency="THB") -> dict:
    change, colour = _change(t, metric, kind)
    return {
        "type": "box",
        "layout": "horizontal",
        "contents": [
            {"type": "text", "text": label, "size": "sm", "color": "#555555", "flex": 5},
            {
                "type": "text",
                "text": _format(t, metric.value, kind, currency),
                "size": "sm",
                "align": "end",
                "weight": "bold",
                "flex": 4,
            },
            {
                "type": "text",
                "text": change or " ",
                "size": "xs",
                "align": "end",
                "color": colour,
                "flex": 3,
            },
        ],
    }


def _line(label: str, value: str) -> dict:
    return {
        "type": "box",
        "layout": "horizontal",
        "contents": [
            {
                "type": "text",
                "text": label,
                "size": "sm",
                "color": "#555555",
                "flex": 6,
                "wrap": True,
            },
            {"type": "text", "text": value, "size": "sm", "align": "end", "flex": 4},
        ],
    }


def _section(title: str) -> dict:
    return {"type": "text", "text": title, "weight": "bold", "size": "sm", "margin": "lg"}


def busiest(t: Translator, heatmap: list[list[int]], count: int = 3) -> list[str]:
    """The busiest weekday-hour slots, e.g. "Sat 14:00"."""
    days = dates.get_day_names("abbreviated", locale=t.babel_locale)
    slots = sorted(
        ((n, -d, -h) for d, hours in enumerate(heatmap) for h, n in enumerate(hours) if n),
        reverse=True,
    )
    return [f"{days[-d]} {-h:02d}:00" for _n, d, h in slots[:count]]


def stats_rows(t: Translator, k: Kpis, currency: str = "THB") -> list[dict]:
    """The summary's rows: sales, members, points, rewards, branches, RFM, busiest hours."""
    rows = [
        _section(t._("Sales")),
        _row(t, t._("Revenue"), k.revenue, "money", currency),
        _row(t, t._("Purchases"), k.purchases),
        _row(t, t._("Average ticket"), k.average_ticket, "money", currency),
        _row(t, t._("Active members"), k.active_members),
        _row(t, t._("Retention"), k.retention, "share"),
        _row(t, t._("Repeat-purchase rate"), k.repeat_rate, "share"),
        _section(t._("Members")),
        _row(t, t._("All members"), k.members_total),
        _row(t, t._("New members"), k.members_new),
        _row(t, t._("Lifetime revenue per member"), k.clv, "money", currency),
    ]
    for stage in k.funnel:
        share = f" ({percent(t, stage.conversion)})" if stage.conversion is not None else ""
        rows.append(_line(t._(FUNNEL_LABELS[stage.stage]), t.number(stage.count) + share))
    rows += [
        _section(t._("Points")),
        _row(t, t._("Issued"), k.points_issued),
        _row(t, t._("Redeemed"), k.points_redeemed),
        _row(t, t._("Expired"), k.points_expired),
        _row(t, t._("Outstanding"), k.points_outstanding),
        _row(t, t._("Liability"), k.liability, "money", currency),
    ]
    if k.top_rewards:
        rows.append(_section(t._("Top rewards")))
        rows += [
            _line(reward_name({"_id": r.reward_id, "names": r.names}, t.locale), t.number(r.count))
            for r in k.top_rewards[:3]
        ]
    if len(k.branches) > 1 and k.branch is None:
        rows.append(_section(t._("Branches")))
        rows += [_row(t, b.name, b.revenue, "money", currency) for b in k.branches]
    groups = sorted(k.rfm_groups.items(), key=lambda item: -item[1])[:4]
    if groups:
        rows.append(_section(t._("RFM groups")))
        rows += [_line(t._(RFM_LABELS.get(g, g)), t.number(n)) for g, n in groups]
    slots = busiest(t, k.heatmap)
    if slots:
        rows.append(_section(t._("Busiest hours")))
        rows.append({"type": "text", "text": " · ".join(slots), "size": "sm", "wrap": True})
    return rows


def stats_message(
    t: Translator, k: Kpis, merchant: str, tz, branch_name: str | None, hero_url: str | None
) -> dict:
    """The `/stats` Flex summary (hero: an optional chart)."""
    period = t._(PERIOD_LABELS[k.period])
    subtitle = f"{t.date(k.start)} – {t.date(k.end)}"
    if branch_name:
        subtitle += " · " + branch_name
    if not k.has_data:
        rows = [{"type": "text", "text": t._("No data yet."), "size": "sm", "wrap": True}]
    else:
        rows = stats_rows(t, k)
    note = (
        t._(
            "Members as of %(time)s; points and members are for the whole shop.",
            time=t.datetime(k.members_as_of, tz, "short"),
        )
        if k.members_as_of
        else ""
    )
    return flex_templates.render(
        "stats_summary",
        alt_text=f"{merchant}: {period}"[:400],
        hero=flex_templates.hero_image(hero_url),
        merchant=merchant,
        title=period,
        subtitle=subtitle,
        rows=rows,
        note=note or " ",
        button_label=t._("Dashboard")[:20],
        button_text="/dashboard",
    )

"""Measuring what works (DESIGN §8): campaign results, merchant KPIs, and the series charts draw.

One implementation serves the chat (`/stats`, `/campaign show`), the owner pushes and
the web dashboard: call these functions, never re-query the collections for a report.
Money is in minor units (satang) as stored; shares are floats 0–1 (None when there is
nothing to divide by); dates are the merchant's local dates (`config.tz`).

Campaign results — `bot/analytics/campaign_report.py`
    campaign_report(store, campaign_id, *, now, config) -> CampaignReport | None
        CampaignReport: campaign_id, name, status, window_days, runs: list[RunReport],
            total: Results (every run pooled), counts: DeliveryCounts (all runs),
            settings: ReportSettings
        RunReport: run_id, started_at, window_end, window_closed, counts, results
        DeliveryCounts: targeted, held_out, sent, failed, blocked, opted_out, capped,
            pending, clicks (unique), coupons_issued, coupons_redeemed
        Results: treatment / holdout: GroupResult (members, purchasers, revenue,
            conversion, conversion_ci, revenue_per_member, revenue_per_member_ci),
            uplift: Effect (absolute, ci, relative) on conversion,
            revenue_uplift: Effect on revenue per member,
            incremental_revenue: Estimate (value, ci), cost: Cost (messages,
            message_cost, coupon_discounts, total), return_per_baht: Estimate,
            verdict: "positive" | "negative" | "inconclusive" | "no_holdout" | "no_data"
    attribution (documented in the module and the README): last touch by run start
    within each run's window; coupon-linked purchases go to the coupon's run only, once.
    Also: delivery_counts(store, run_id) -> DeliveryCounts, group_sizes(counts) ->
    (treatment, holdout), verdict(treated, held_out, interval) -> str.
    Charts: GroupResult.conversion_ci (Wilson) and revenue_per_member_ci (t) are the
    error bars of treatment against holdout.

Merchant KPIs — `bot/analytics/kpis.py`
    PERIODS = ("7d", "30d", "90d", "12m")
    merchant_kpis(store, *, period="30d", branch=None, now, config) -> Kpis
        Kpis: period, branch, start, end, previous_start, previous_end (local dates),
            has_data, members_as_of,
            Metric (value, previous; .change, .change_ratio) for members_total,
            members_new, active_members, retention, repeat_rate, purchases, revenue,
            average_ticket, points issued / redeemed / expired / outstanding, liability;
            clv (historical revenue per member) and clv_by_group / clv_by_tier;
            funnel: list[FunnelStage(stage, count, conversion)] followers → members →
            first_purchase → repeat → top_tier; top_rewards: list[RewardCount(reward_id,
            names, count, previous)];
            rfm_groups {group: members}; rfm_grid [r-1][fm-1] counts (5×5);
            branches: list[BranchRow]; heatmap [weekday][hour] purchases (7×24, Monday 0);
            daily: list[DayPoint(date, revenue, purchases, buyers)];
            sends: list[CampaignSend(date, campaign_id, name, run_id)]
    retention_cohorts(store, *, months=12, now, config) -> list[Cohort]
        Cohort(month "YYYY-MM", size, shares [month 0, 1, …]): members by the month of
        their first purchase, and the share of them who bought in each later month.
    campaign_sends(store, *, start, end, config) -> list[CampaignSend] (also on Kpis.sends)
    parse_stats_args(words, branches) -> (period, branch) or raises UsageError

Wording — `bot/analytics/messages.py`
    campaign_results_text(t, report, tz), headline(t, results, currency),
    report_button(t, campaign_id), stats_message(t, kpis, merchant, tz, branch_name,
    hero_url), busiest(t, heatmap), labels: FUNNEL_LABELS, RFM_LABELS, PERIOD_LABELS

Statistics — `bot/analytics/stats.py` (pure)
    Interval(low, high) (.contains_zero)
    wilson(successes, n, confidence=0.95) -> Interval | None
    newcombe_difference(k1, n1, k2, n2, confidence=0.95) -> Interval | None   (p1 − p2)
    welch_difference(a: Sample, b: Sample, confidence=0.95) -> Interval | None (mean a − b)
    Sample(n, total, total_sq) (.mean, .variance); mean_interval(sample) -> Interval | None

Rollups — `bot/analytics/rollups.py` (what reports read instead of raw purchases)
    day rollups per local date (every branch) written with each purchase and void,
    points per UTC date and hour written with each ledger movement, and a member
    snapshot refreshed by a job; `rebuild(store, tz)` / `check(store, tz)` recompute
    them from the source collections (`flask --app bot rollups [--check]`).

Settings — `bot/analytics/settings.py`
    ReportSettings(message_cost, point_value, currency) from `store` settings
    (`/stats set message_cost 0.10`, `/stats set point_value 0.25`).
"""

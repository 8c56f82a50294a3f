"""What owners read about campaigns: statuses, delivery counts, when a run starts, and
the notice that a run has finished."""

from __future__ import annotations

from datetime import datetime

from babel import dates

from bot.i18n import N_, Translator
from bot.marketing.campaigns import starts_at

STATUSES = {
    "draft": N_("draft, waiting for Confirm"),
    "scheduled": N_("scheduled"),
    "running": N_("sending"),
    "paused": N_("paused"),
    "done": N_("finished"),
    "cancelled": N_("cancelled"),
    "quota": N_("stopped: not enough messages left this month"),
}
DELIVERIES = {  # a delivery row's status, as `/campaign show` and the finish notice say it
    "sent": N_("sent"),
    "pending": N_("waiting to send"),
    "failed": N_("failed"),
    "holdout": N_("held out"),
    "skipped_optout": N_("skipped: no marketing consent"),
    "skipped_blocked": N_("skipped: blocked the account"),
    "capped": N_("skipped: over the frequency cap"),
    "erased": N_("skipped: erased their data"),
    "cancelled": N_("cancelled"),
    "quota": N_("not sent: the month's quota ran out"),
}


def moment(t: Translator, value: datetime, tz) -> str:
    """A date and time in the reader's locale: medium date (Buddhist era in Thai), short time."""
    local = value.astimezone(tz)
    pattern = dates.get_datetime_format("medium", locale=t.babel_locale)
    return pattern.replace("{1}", t.date(local)).replace("{0}", t.time(local))


def status(t: Translator, value: str) -> str:
    return t._(STATUSES[value]) if value in STATUSES else value


def counts(t: Translator, by_status: dict) -> str:
    """`sent: 9 · held out: 1`, in the order of DELIVERIES; `—` when there are none."""
    order = [s for s in DELIVERIES if by_status.get(s)] + sorted(
        s for s in by_status if s not in DELIVERIES and by_status[s]
    )
    return (
        " · ".join(f"{t._(DELIVERIES.get(s, s))}: {t.number(by_status[s])}" for s in order) or "—"
    )


def start_note(t: Translator, campaign: dict, now: datetime, tz, quiet: tuple) -> str | None:
    """When a scheduled (or waiting) run really starts, if quiet hours hold it back."""
    due = campaign.get("next_run_at")
    if campaign.get("status") not in ("draft", "scheduled", "running") or due is None:
        return None
    when, held = starts_at(due, now, tz, quiet)
    if not held:
        return None
    if campaign["status"] == "running":  # quiet hours began mid-run
        message = N_("Quiet hours until %(end)s: it will carry on at %(time)s.")
    else:
        message = N_("Quiet hours until %(end)s: it will start at %(time)s.")
    return t._(message, end=quiet[1], time=moment(t, when, tz))


def finished(t: Translator, campaign: dict, by_status: dict, results_url: str | None) -> str:
    """The owners' notice that a run has finished."""
    skipped = sum(n for s, n in by_status.items() if s.startswith("skipped") or s == "capped")
    lines = [
        t._("Campaign %(id)s “%(name)s” has finished.", id=campaign["_id"], name=campaign["name"]),
        t._(
            "Sent: %(sent)s · held out: %(holdout)s · skipped: %(skipped)s · failed: %(failed)s",
            sent=t.number(by_status.get("sent", 0)),
            holdout=t.number(by_status.get("holdout", 0)),
            skipped=t.number(skipped + by_status.get("erased", 0)),
            failed=t.number(by_status.get("failed", 0)),
        ),
    ]
    if results_url:
        lines.append(t._("Results: %(url)s", url=results_url))
    return "\n".join(lines)

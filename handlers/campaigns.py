"""Owners: `/campaign new|list|show|test|pause|resume|cancel` (the worker sends)."""

from __future__ import annotations

import flex_templates
from bot.chat.context import Context
from bot.chat.messages import tap, text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.marketing import campaign_message, campaign_text, campaigns
from bot.marketing.campaigns import SpecError
from bot.marketing.segments import Clock, compile_filters
from bot.store import utcnow
from handlers import reports, wizard

USAGE = N_(
    "Usage: /campaign new <name> | audience: <segment or filters> | text: <message> "
    "[| template: promotion|coupon|birthday|winback|news] [| title: …] [| image: https://…] "
    "[| button: <label> | link: https://…] [| coupon: percent 20 14] [| holdout: 10] "
    "[| at: now|2026-12-01 10:00] [| weekly: mon,thu 10:00] [| window: 7]\n"
    "/campaign list · show|test|pause|resume|cancel <id>\n"
    "/campaign quiet 21:00 09:00 · /campaign cap 2 7 (messages per member per days)\n"
    "Placeholders: {first_name} {points} {tier} {coupon_code} {expires}"
)


def register(registry: Registry) -> None:
    registry.command(
        "/campaign",
        role=Role.OWNER,
        summary=N_("segmented, scheduled messages"),
        usage=N_("new … | list | show | test | pause | resume | cancel <id>"),
    )(campaign)
    registry.on_postback("campaign_ok")(confirm)
    wizard.register(registry, FORM)


def campaign(ctx: Context) -> list:
    """Dispatch the campaign subcommands."""
    action = ctx.args[0].lower() if ctx.args else ""
    if action == "new":
        spec = ctx.text.split(None, 2)[2] if len(ctx.text.split(None, 2)) > 2 else ""
        return new(ctx, spec) if spec else wizard.start(ctx, FORM)
    if action == "list":
        return [text(_list(ctx))]
    if action in ("quiet", "cap"):
        return sending_limits(ctx, action, ctx.args[1:])
    if action in ("show", "test", "pause", "resume", "cancel") and len(ctx.args) == 2:
        found = ctx.store.campaign(ctx.args[1].upper())
        if found is None:
            ctx.audit["result"] = "not-found"
            return [text(ctx._("No campaign %(id)s. See /campaign list.", id=ctx.args[1].upper()))]
        return {"show": show, "test": test, "pause": pause, "resume": resume, "cancel": cancel}[
            action
        ](ctx, found)
    ctx.audit["result"] = "usage"
    return [text(ctx._(USAGE))]


def new(ctx: Context, spec: str, image: str | None = None) -> list:
    """Draft a campaign, show its audience and a preview; the owner confirms.

    `image`: a photo the owner sent to the step-by-step form (our own URL)."""
    now = utcnow()
    try:
        fields = campaigns.parse_spec(spec, ctx.store, now, ctx.config.tz)
    except (SpecError, ValueError) as problem:
        return _refusal(ctx, problem)
    if image:
        fields["content"]["image"] = image
    campaign_id = campaigns.new_campaign_id()
    draft = {"_id": campaign_id, **fields, "status": "draft", "created_by": ctx.user_id}
    try:  # rendered before the draft is stored, so a message LINE would refuse leaves none
        preview = _preview(ctx, draft, "preview")
    except flex_templates.TemplateError:
        ctx.audit["result"] = "usage"
        return [text(ctx._("This message is too long for LINE. Shorten the title or text."))]
    ctx.store.insert_campaign(draft)
    clock = Clock(now=now, today=now.astimezone(ctx.config.tz).date())
    audience = ctx.store.count_members(compile_filters(fields["filters"], clock, campaign=True))
    summary = ctx._(
        "Campaign %(id)s “%(name)s”: %(audience)s, %(holdout)s%% held out, %(when)s.",
        id=campaign_id,
        name=fields["name"],
        audience=ctx.t.n_(
            "%(count)s member with marketing consent",
            "%(count)s members with marketing consent",
            audience,
        ),
        holdout=ctx.t.number(round(fields["holdout"] * 100)),
        when=_when(ctx, fields),
    )
    lines = [summary, _start_note(ctx, draft), _preview_note(ctx), ctx._("Send it?")]
    items = [tap(ctx._("Confirm"), f"a=campaign_ok&c={campaign_id}")]
    return [preview, text("\n".join(line for line in lines if line), items=items)]


def _refusal(ctx: Context, problem: ValueError, usage: bool = True) -> list:
    """What part of a spec was wrong, and what is allowed there (else the usage)."""
    ctx.audit["result"] = "usage"
    return [text(_refusal_text(ctx, problem, usage))]


def _refusal_text(ctx: Context, problem: ValueError, usage: bool) -> str:
    part = getattr(problem, "part", str(problem))
    hint = getattr(problem, "hint", None)
    allowed = ctx._(campaigns.HINTS[hint]) if hint else ctx._(USAGE) if usage else None
    lines = [ctx._("I don't understand “%(part)s”.", part=part), allowed]
    return "\n".join(line for line in lines if line)


def _preview(ctx: Context, campaign: dict, kind: str) -> dict:
    """The message as the owner (or a sample member) would get it, with a sample coupon.
    Its link works but counts no click: it belongs to no delivery."""
    return campaign_message.render(
        ctx.config,
        {**campaign, "run_id": f"{campaign['_id']}-{kind}"},
        _preview_member(ctx),
        None,
        campaign_message.sample_coupon(campaign, utcnow()),
    )


def _preview_member(ctx: Context) -> dict:
    """The owner as a member, or a sample member when the owner never signed up."""
    if ctx.is_member:
        return ctx.member
    return {
        "profile": {"first_name": "Alice"},
        "points": 120,
        "tier": "member",
        "locale": ctx.t.locale,
    }


def _preview_note(ctx: Context) -> str:
    if ctx.is_member:
        return ctx._("The preview above is filled in with your own member record.")
    return ctx._("The preview above is filled in for a sample member (Alice, 120 points).")


def _quiet(ctx: Context) -> tuple[str, str]:
    return tuple(ctx.store.get_setting("quiet_hours", list(campaigns.DEFAULT_QUIET)))


def _start_note(ctx: Context, campaign: dict) -> str | None:
    return campaign_text.start_note(ctx.t, campaign, utcnow(), ctx.config.tz, _quiet(ctx))


def confirm(ctx: Context) -> list:
    """Schedule a drafted campaign."""
    if ctx.role < Role.OWNER:
        return []
    confirmed = ctx.store.update_campaign(
        ctx.postback.get("c", ""), {"status": "scheduled"}, "draft"
    )
    if confirmed is None:
        return [text(ctx._("That campaign is no longer a draft."))]
    lines = [
        ctx._(
            "Campaign %(id)s is scheduled, %(when)s.",
            id=confirmed["_id"],
            when=_when(ctx, confirmed),
        ),
        _start_note(ctx, confirmed),
    ]
    return [text("\n".join(line for line in lines if line))]


def show(ctx: Context, found: dict) -> list:
    """A campaign's status, when it goes, what its deliveries did and its unique clicks."""
    lines = [
        ctx._(
            "Campaign %(id)s “%(name)s” — %(status)s, %(when)s.",
            id=found["_id"],
            name=found["name"],
            status=campaign_text.status(ctx.t, found["status"]),
            when=_when(ctx, found),
        ),
        _start_note(ctx, found),
        ctx._(
            "Deliveries: %(counts)s",
            counts=campaign_text.counts(ctx.t, ctx.store.campaign_counts(found["_id"])),
        ),
    ]
    if found["content"].get("link"):
        clicks = ctx.store.click_count(campaign_id=found["_id"])
        lines.append(
            ctx.t.n_(
                "%(count)s member clicked the link.", "%(count)s members clicked the link.", clicks
            )
        )
    return [
        text("\n".join(line for line in lines if line)),
        *reports.campaign_results(ctx, found["_id"]),
    ]


def test(ctx: Context, found: dict) -> list:
    """Send the campaign to yourself, as a member would see it."""
    return [_preview(ctx, found, "test"), text(_preview_note(ctx))]


def pause(ctx: Context, found: dict) -> list:
    paused = ctx.store.update_campaign(
        found["_id"], {"status": "paused", "paused_from": found["status"]}, ["scheduled", "running"]
    )
    return [
        text(
            ctx._("Campaign %(id)s paused.", id=found["_id"])
            if paused
            else ctx._("Campaign %(id)s cannot be paused now.", id=found["_id"])
        )
    ]


def resume(ctx: Context, found: dict) -> list:
    back = found.get("paused_from", "scheduled")
    resumed = ctx.store.update_campaign(found["_id"], {"status": back}, "paused")
    return [
        text(
            ctx._("Campaign %(id)s resumed.", id=found["_id"])
            if resumed
            else ctx._("Campaign %(id)s is not paused.", id=found["_id"])
        )
    ]


def cancel(ctx: Context, found: dict) -> list:
    cancelled = ctx.store.update_campaign(
        found["_id"], {"status": "cancelled"}, ["draft", "scheduled", "running", "paused", "quota"]
    )
    return [
        text(
            ctx._("Campaign %(id)s cancelled.", id=found["_id"])
            if cancelled
            else ctx._("Campaign %(id)s has already finished.", id=found["_id"])
        )
    ]


def sending_limits(ctx: Context, action: str, args: list[str]) -> list:
    """`/campaign quiet <from> <to>` and `/campaign cap <messages> <days>`."""
    if action == "quiet":
        clocks = [campaigns.clock(a) for a in args]
        if len(args) != 2 or None in clocks:
            ctx.audit["result"] = "usage"
            return [
                text(
                    ctx._(
                        "Quiet hours are two times from 00:00 to 23:59, like "
                        "“/campaign quiet 21:00 09:00” (from, until); the same time twice "
                        "means no quiet hours."
                    )
                )
            ]
        ctx.store.put_setting("quiet_hours", clocks)
    else:
        limits = campaigns.CAP_MESSAGES, campaigns.CAP_DAYS
        cap = [campaigns.whole(a, *r) for a, r in zip(args, limits, strict=False)]
        if len(args) != 2 or None in cap:
            ctx.audit["result"] = "usage"
            return [text(ctx._("The cap is 1 to 50 messages over 1 to 90 days."))]
        ctx.store.put_setting("campaign_cap", cap)
    return [text(_limits(ctx))]


def _limits(ctx: Context) -> str:
    start, end = ctx.store.get_setting("quiet_hours", list(campaigns.DEFAULT_QUIET))
    messages, days = ctx.store.get_setting("campaign_cap", list(campaigns.DEFAULT_CAP))
    return ctx.t.n_(
        "Quiet hours %(start)s–%(end)s; at most %(count)s campaign message per member "
        "in %(days)s days.",
        "Quiet hours %(start)s–%(end)s; at most %(count)s campaign messages per member "
        "in %(days)s days.",
        messages,
        start=start,
        end=end,
        days=ctx.t.number(days),
    )


def _list(ctx: Context) -> str:
    found = ctx.store.list_campaigns()
    lines = [ctx._("Campaigns:")] if found else [ctx._("No campaigns yet.")]
    lines += [
        f"{c['_id']} · {c['name']} · {campaign_text.status(ctx.t, c['status'])} · {_when(ctx, c)}"
        for c in found
    ]
    return "\n".join([*lines, _limits(ctx)])


def _when(ctx: Context, campaign: dict) -> str:
    schedule = campaign["schedule"]
    if schedule["type"] == "weekly":
        from bot.loyalty.rules import describe_days  # noqa: PLC0415

        return ctx._(
            "weekly %(days)s at %(time)s",
            days=describe_days(tuple(schedule["days"])),
            time=schedule["time"],
        )
    moment = campaign.get("next_run_at") or schedule["at"]
    return ctx._("at %(time)s", time=campaign_text.moment(ctx.t, moment, ctx.config.tz))


# -- the step-by-step form of `/campaign new` ------------------------------------------------

QUESTIONS = {
    "name": N_("New campaign. What is its name?"),
    "audience": N_(
        "Who should get it? A saved segment, filters (e.g. visited:90d branch:asoke) or “all”."
    ),
    "template": N_("Which layout?"),
    "title": N_("The title?"),
    "text": N_("The message? You can use {first_name} {points} {tier} {coupon_code} {expires}."),
    "image": N_("An image: send a photo, or type its URL (https://…), or skip."),
    "link": N_("A button: “<label> https://…”, or skip."),
    "coupon": N_(
        "A coupon for each member, e.g. “percent 20 14” (kind, value, days valid), or skip."
    ),
    "holdout": N_("What share to hold out for measuring (percent)?"),
    "when": N_("When? “now”, a date and time like 2026-12-01 10:00, or “weekly mon,thu 10:00”."),
    "window": N_("Attribution window in days?"),
}
SUGGESTIONS = {
    "template": list(campaigns.TEMPLATES),
    "holdout": ["10", "0", "20"],
    "when": ["now"],
    "window": ["7", "14", "30"],
}
OPTIONAL = {"image", "link", "coupon"}


def _finish_wizard(ctx: Context, answers: dict) -> list:
    """The answers as a one-line spec, drafted like `/campaign new <spec>` (preview, Confirm)."""
    return new(ctx, _spec(answers), image=answers.get("image"))


def _spec(answers: dict) -> str:
    parts = [answers["name"]]
    for key in ("audience", "template", "title", "text", "coupon", "holdout", "window"):
        if answers.get(key):
            parts.append(f"{key}: {answers[key]}")
    if answers.get("link"):
        label, _, url = answers["link"].rpartition(" ")
        parts += [f"button: {label}", f"link: {url}"]
    when = answers["when"]
    parts.append(f"weekly: {when[7:]}" if when.lower().startswith("weekly ") else f"at: {when}")
    return " | ".join(parts)


def _step_check(step: str):
    def check(ctx: Context, answer: str, answers: dict) -> str:
        problem = _check(ctx, step, answer, answers)
        if problem:
            raise wizard.Refused(_refusal_text(ctx, problem, usage=False))
        return answer

    return check


def _check(ctx: Context, step: str, answer: str, answers: dict) -> SpecError | None:
    """What is wrong with an answer (and what is allowed there), or None."""
    if "|" in answer:
        return SpecError(answer, "pipe")
    weekly = answer.lower().startswith("weekly ")
    checks = {
        "audience": lambda a: _check_audience(ctx, a),
        "template": lambda a: a.lower() in campaigns.TEMPLATES,
        "title": _placeholders_ok,
        "text": _placeholders_ok,
        "image": lambda a: a.startswith("https://"),
        "link": lambda a: a.rpartition(" ")[2].startswith("https://"),
        "coupon": lambda a: _spec_accepts(
            ctx, f"coupon: {a}", answers.get("title", ""), answers["text"]
        ),
        "holdout": lambda a: _spec_accepts(ctx, f"holdout: {a}"),
        "when": lambda a: _spec_accepts(ctx, f"weekly: {a[7:]}" if weekly else f"at: {a}"),
        "window": lambda a: _spec_accepts(ctx, f"window: {a}"),
    }
    try:
        accepted = checks.get(step, lambda a: True)(answer)
    except SpecError as problem:
        return problem
    except ValueError:
        accepted = False
    return None if accepted else SpecError(answer)


def _check_audience(ctx: Context, answer: str) -> bool:
    if answer.lower() in ("all", "everyone"):
        return True
    saved = ctx.store.segment(answer.lower())
    now = utcnow()
    clock = Clock(now=now, today=now.astimezone(ctx.config.tz).date())
    compile_filters(saved["filters"] if saved else answer, clock)
    return True


def _placeholders_ok(answer: str) -> bool:
    """Only documented names; a coupon's are checked once the coupon step is answered."""
    campaigns.check_placeholders(answer, campaigns.PLACEHOLDERS, has_coupon=True)
    return True


def _spec_accepts(ctx: Context, part: str, title: str = "x", body: str = "x") -> bool:
    campaigns.parse_spec(
        f"x | audience: all | title: {title or 'x'} | text: {body} | {part}",
        ctx.store,
        utcnow(),
        ctx.config.tz,
    )
    return True


def _suggestions(step: str):
    values = SUGGESTIONS.get(step)
    return (lambda ctx, answers: [(v, v) for v in values]) if values else None


FORM = wizard.Form(
    name="campaign",
    title=N_("New campaign"),
    steps=tuple(
        wizard.Step(
            name,
            question,
            check=_step_check(name),
            choices=_suggestions(name),
            optional=name in OPTIONAL,
            image=name == "image",
        )
        for name, question in QUESTIONS.items()
    ),
    finish=_finish_wizard,
    command="/campaign",
)

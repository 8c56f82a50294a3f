"""Members: `rewards` (carousel), redeem with confirmation, `coupons`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import flex_templates
from bot.chat import numbers
from bot.chat.context import Context
from bot.chat.messages import tap, text
from bot.chat.registry import Registry
from bot.i18n import N_, Translator
from bot.loyalty import qr, rewards
from handlers.common import keyword
from handlers.profile import not_member_yet

PAGE_SIZE = 11  # + one "more" bubble = LINE's 12-bubble carousel limit


def register(registry: Registry) -> None:
    registry.command(
        "rewards",
        th=("ของรางวัล", "แลกของรางวัล"),
        zh=("獎勵", "兌換"),
        summary=N_("see rewards and redeem points"),
    )(show_rewards)
    registry.command(
        "coupons", th=("คูปอง",), zh=("優惠券",), summary=N_("your coupons and reward codes")
    )(show_coupons)
    registry.on_postback("rewards")(show_rewards)
    registry.on_postback("redeem")(ask_to_confirm)
    registry.on_postback("redeem_ok")(confirm)
    registry.on_postback("redeem_no")(cancelled)


def show_rewards(ctx: Context) -> list:
    """A carousel of live rewards, marking what the member can afford."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    today = ctx.today().isoformat()
    live = [r for r in ctx.store.list_rewards(active_only=True) if rewards.is_live(r, today)]
    if not live:
        return [text(ctx._("There are no rewards right now. Please check back soon!"))]
    page = _page(ctx.postback.get("page", "1")) if ctx.raw.get("type") == "postback" else 1
    first = (page - 1) * PAGE_SIZE
    shown = live[first : first + PAGE_SIZE]
    if not shown:
        shown, page, first = live[:PAGE_SIZE], 1, 0
    bubbles = [reward_bubble(ctx, r) for r in shown]
    if first + PAGE_SIZE < len(live):
        more = flex_templates.render(
            "reward_more",
            alt_text="…",
            text=ctx.t.n_(
                "%(count)s more reward", "%(count)s more rewards", len(live) - first - PAGE_SIZE
            ),
            button_label=ctx._("Show more"),
            button_data=f"a=rewards&page={page + 1}",
        )
        bubbles.append(more["contents"])
    alt = ctx.t.n_(
        "Rewards: you have %(count)s point.",
        "Rewards: you have %(count)s points.",
        ctx.member.get("points", 0),
    )
    return [flex_templates.carousel(bubbles, alt)]


def _page(raw: str) -> int:
    """The carousel page a "more" button asked for; the first if it makes no sense."""
    try:
        return numbers.parse_int(raw or "1", 1, 1_000)
    except numbers.NumberError:
        return 1


def reward_bubble(ctx: Context, reward: dict) -> dict:
    balance = ctx.member.get("points", 0)
    cost = reward["points"]
    stock = reward.get("stock")
    out_of_stock = stock is not None and stock <= 0
    affordable = balance >= cost and not out_of_stock
    if out_of_stock:
        status, color = ctx._("Out of stock"), "#B00020"
    elif affordable:
        status, color = ctx._("You can redeem this."), "#0B6E4F"
    else:
        status, color = (
            ctx.t.n_(
                "You need %(count)s more point.", "You need %(count)s more points.", cost - balance
            ),
            "#B00020",
        )
    hero = flex_templates.hero_image(reward.get("image_url"))
    stock_note = None
    if stock is not None and 0 < stock <= 10:
        stock_note = {
            "type": "text",
            "text": ctx._("Only %(count)s left", count=ctx.t.number(stock)),
            "size": "xs",
            "color": "#B36B00",
        }
    return flex_templates.render(
        "reward",
        alt_text="reward",
        hero=hero,
        name=rewards.reward_name(reward, ctx.t.locale),
        price=ctx.t.n_("%(count)s point", "%(count)s points", cost),
        stock_note=stock_note,
        status=status,
        status_color=color,
        button_style="primary" if affordable else "secondary",
        button_color="#0B6E4F" if affordable else "#DDDDDD",
        button_label=ctx._("Redeem") if affordable else ctx._("Refresh"),
        button_data=f"a=redeem&r={reward['_id']}" if affordable else "a=rewards",
    )["contents"]


def ask_to_confirm(ctx: Context) -> list:
    """Confirm before anything is deducted; the button carries a one-time nonce."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    reward = ctx.store.reward(ctx.postback.get("r", ""))
    if reward is None or not rewards.is_live(reward, ctx.today().isoformat()):
        return [text(ctx._("Sorry, that reward is no longer available."))]
    # The button may be stale: points spent or stock gone since the carousel was sent.
    name = rewards.reward_name(reward, ctx.t.locale)
    back = [tap(ctx._("See rewards"), "a=rewards")]
    stock = reward.get("stock")
    if stock is not None and stock <= 0:
        return [text(ctx._("Sorry, %(name)s has run out.", name=name), items=back)]
    missing = reward["points"] - ctx.member.get("points", 0)
    if missing > 0:
        return [
            text(
                ctx.t.n_(
                    "You need %(count)s more point for %(name)s.",
                    "You need %(count)s more points for %(name)s.",
                    missing,
                    name=name,
                ),
                items=back,
            )
        ]
    question = "\n".join(
        [
            ctx.t.n_(
                "Redeem %(name)s for %(count)s point?",
                "Redeem %(name)s for %(count)s points?",
                reward["points"],
                name=name,
            ),
            ctx.t.n_(
                "You will have %(count)s point left.",
                "You will have %(count)s points left.",
                -missing,
            ),
        ]
    )
    nonce = secrets.token_hex(6)
    items = [
        tap(ctx._("Confirm"), f"a=redeem_ok&r={reward['_id']}&n={nonce}"),
        tap(ctx._("Cancel"), "a=redeem_no"),
    ]
    return [text(question, items=items)]


def confirm(ctx: Context) -> list:
    """Take stock and points once, then show the code; explain any refusal."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    reward_id, nonce = ctx.postback.get("r", ""), ctx.postback.get("n", "")
    if not nonce:
        return [text(ctx._("Sorry, that reward is no longer available."))]
    result = rewards.redeem(
        ctx.store, ctx.member, reward_id, nonce, ctx.today().isoformat(), ctx.raw["webhookEventId"]
    )
    if result.redemption is not None and result.refused is None:
        return [redemption_bubble(ctx, result.redemption)]
    reasons = {
        "unavailable": ctx._("Sorry, that reward is no longer available."),
        "limit": ctx._("You have already redeemed this reward as many times as allowed."),
        "out-of-stock": ctx._("Sorry, this reward just ran out. Your points were not used."),
        "insufficient": ctx.t.n_(
            "You need %(count)s more point for this reward. Your points were not used.",
            "You need %(count)s more points for this reward. Your points were not used.",
            result.missing,
        ),
        "busy": ctx._("We are still processing this redemption. Type “coupons” in a moment."),
        "interrupted": ctx._(
            "This redemption was interrupted, so nothing was used. Please tap Redeem again."
        ),
    }
    return [text(reasons.get(result.refused, reasons["unavailable"]))]


def cancelled(ctx: Context) -> list:
    """The member changed their mind before confirming."""
    return [text(ctx._("No problem, nothing was redeemed."))]


def redemption_bubble(ctx: Context, redemption: dict) -> dict:
    return redemption_message(ctx.t, ctx.config, redemption)


def redemption_message(t: Translator, config, redemption: dict) -> dict:
    """The code and its QR, valid until the redemption expires."""
    expires = redemption["expires_at"]
    lifetime = max(int((expires - datetime.now(UTC)).total_seconds()), 60)
    token = qr.make_token(
        config.SECRET_KEY, redemption["_id"], prefix=qr.REDEMPTION_PREFIX, lifetime=lifetime
    )
    name = rewards.reward_name({"names": redemption.get("reward_names"), "_id": "?"}, t.locale)
    base = config.PUBLIC_BASE_URL.rstrip("/")
    return flex_templates.render(
        "redemption",
        alt_text=t._("Your reward code: %(code)s", code=redemption["_id"]),
        title=t._("Reward"),
        name=name,
        qr_url=f"{base}/qr/{token}.png",
        code=redemption["_id"],
        instructions=t._("Show this code to our staff to receive your reward."),
        valid_until=t._("Valid until %(moment)s.", moment=moment(t, expires, config.tz)),
    )


def show_coupons(ctx: Context) -> list:
    """Live coupons and unused reward codes, with their codes."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    member_id = ctx.member["_id"]
    coupons = ctx.store.member_coupons(member_id)
    codes = ctx.store.member_redemptions(member_id, ("issued",))
    if not coupons and not codes:
        return [
            text(
                ctx._(
                    "You have no coupons right now. Type “%(rewards)s” to redeem points.",
                    rewards=keyword(ctx, "rewards"),
                )
            )
        ]
    lines = [ctx._("Your coupons and reward codes:")]
    tz = ctx.config.tz
    for coupon in coupons:
        until = ctx._("until %(moment)s", moment=moment(ctx.t, coupon["expires_at"], tz))
        lines.append(f"• {coupon['_id']} — {describe_coupon(ctx.t, coupon)} ({until})")
    for redemption in codes:
        names = {"names": redemption.get("reward_names"), "_id": "?"}
        until = ctx._("until %(moment)s", moment=moment(ctx.t, redemption["expires_at"], tz))
        lines.append(
            f"• {redemption['_id']} — {rewards.reward_name(names, ctx.t.locale)} ({until})"
        )
    lines.append(ctx._("Show the code to our staff."))
    return [text("\n".join(lines))]


def moment(t: Translator, when: datetime, tz) -> str:
    """A date and time in the merchant's time zone (Buddhist-era year in Thai)."""
    return t._("%(date)s at %(time)s", date=t.date(when.astimezone(tz)), time=t.time(when, tz))


def describe_coupon(t: Translator, coupon: dict) -> str:
    """20% off, ฿50 off, buy one get one, free item — and any minimum spend."""
    kind, value, item = coupon["kind"], coupon.get("value", 0), coupon.get("item") or ""
    if kind == "percent":
        benefit = t._("%(percent)s%% off", percent=t.number(value))
    elif kind == "amount":
        benefit = t._("%(amount)s off", amount=t.money(value))
    elif kind == "bogo":
        benefit = t._("buy one get one free: %(item)s", item=item)
    else:
        benefit = t._("free %(item)s", item=item)
    if coupon.get("min_spend"):
        benefit += " " + t._("(min. spend %(amount)s)", amount=t.money(coupon["min_spend"]))
    return benefit

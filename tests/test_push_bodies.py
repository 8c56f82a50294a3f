"""Personalised pushes from prepared bodies: each member gets what `render` makes for them."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.marketing import campaign_message
from bot.marketing.campaign_message import PushBodies
from bot.marketing.journeys import DEFAULTS
from bot.marketing.sending import Sender
from bot.members import privacy
from bot.store import utcnow
from jobs import campaign_jobs
from simulator import user_id_for

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
# Names that break a body built by pasting text: quotes, backslashes, a newline,
# markup, Thai, an emoji, our own placeholder syntax and a JSON fragment.
NAMES = [
    'Ann "the" \\ back\nslash',
    "สมศรี",
    "小美 🍵",
    "<b>{points}</b>",
    '"},"to":"Uattacker',
]
LOCALES = ["en", "th", "zh_Hant"]


def campaign(text: str, **changes) -> dict:
    content = {"title": "News for {first_name}", "text": text, "image": None}
    return {
        "_id": "KBODY1",
        "run_id": "KBODY1-r1",
        "template": "news",
        "content": {**content, "button": None, "link": None},
        **changes,
    }


def member(index: int) -> dict:
    return {
        "_id": f"m{index}",
        "locale": LOCALES[index % len(LOCALES)],
        "points": 1234 * index,
        "tier": "gold" if index % 2 else None,
        "profile": {"first_name": NAMES[index % len(NAMES)]},
    }


VARIANTS = {
    "plain": campaign("Hi {first_name}, {points} points, {tier}. {unknown} {0} stays"),
    "link": campaign(
        "Hi {first_name}",
        content={
            "title": "Menu",
            "text": "Hi {first_name}",
            "image": "https://example.com/menu.png",
            "button": "See the menu",
            "link": "https://example.com/menu",
        },
    ),
    "coupon": campaign(
        "Show {coupon_code} by {expires}",
        template="coupon",
        coupon={"kind": "percent", "value": 20, "item": None, "days": 14},
    ),
    "journey": campaign(
        "", content={**DEFAULTS["after_purchase"], "image": None}, translate=True, count="points"
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_prepared_body_carries_the_message_render_makes(services, variant):
    config, spec = services.config, VARIANTS[variant]
    with time_machine.travel(NOW, tick=False):
        bodies = PushBodies(config, spec)
        for index in range(len(NAMES) * len(LOCALES)):
            who = member(index)
            coupon = None
            if spec.get("coupon"):
                coupon = {"_id": f"C{index:05d}", "expires_at": utcnow() + timedelta(days=14)}
            delivery = f"{spec['run_id']}:{who['_id']}"
            own = {"points": who["points"]}
            line_id = user_id_for(f"body{index}")

            body = json.loads(bodies.body(line_id, who, delivery, coupon, own))

            expected = campaign_message.render(config, spec, who, delivery, coupon, own)
            assert body == {"to": line_id, "messages": [expected]}


def test_an_oversized_member_message_is_refused_as_render_refuses_it(services):
    spec = campaign("{first_name} " * 30)
    huge = {**member(0), "profile": {"first_name": "x" * 1000}}
    bodies = PushBodies(services.config, spec)
    with pytest.raises(ValueError, match="bytes"):
        bodies.body(user_id_for("big"), huge, "KBODY1-r1:m0", None, {})


def test_members_receive_their_own_names_through_the_simulator(sim, store, services, owner):
    """End to end: LINE's spec (the simulator) accepts every body and shows the name as typed."""
    users = []
    for index, name in enumerate(NAMES):
        user = sim.user(f"pushbody{index}", language="en")
        user.state.friend = True
        doc, _new = store.record_follow(user.id, LOCALES[index % len(LOCALES)])
        store.claim_member_code(f"PB{index:04d}", doc["_id"])
        profile = {"first_name": name, "last_name": "X", "birth_month": 1}
        consent = [privacy.consent("marketing", True, "test")]
        store.complete_signup(doc["_id"], f"PB{index:04d}", profile, consent, True)
        users.append(user)
    store.put_setting("quiet_hours", ["00:00", "00:00"])
    with time_machine.travel(NOW, tick=False):
        replies = owner.says(
            "/campaign new Names | audience: optin | text: Hi {first_name}! | holdout: 0"
        )
        owner.taps(replies[-1]["quickReply"]["items"][0]["action"]["data"])
        campaign_jobs.run_due(Sender(store, services.line, services.config, threads=2))

    for user, name in zip(users, NAMES, strict=True):
        [message] = [m for m in user.inbox if m.get("type") == "flex"]
        assert message["altText"] == "Names"
        body = message["contents"]["body"]["contents"][0]["text"]
        assert body == f"Hi {name}!"
    assert {r["status"] for r in sim.requests("push")} == {200}

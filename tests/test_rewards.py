"""Rewards: catalogue, redemption with confirmation, codes at the counter, coupons."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.loyalty import points
from bot.store import utcnow
from jobs import points_jobs
from simulator import texts


def give_points(store, user, amount, services):
    member = store.member_by_line_id(user.id)
    points.credit(
        store, member["_id"], amount, "adjust", f"test:{amount}:{user.id}", services.config.tz
    )


def add_reward(owner, spec: str) -> str:
    reply = texts(owner.says(f"/reward add {spec}"))[0]
    return re.match(r"Reward (W\w{3}) added", reply).group(1)


def redeem(user, reward_id: str) -> list[dict]:
    question = user.taps(f"a=redeem&r={reward_id}")[0]
    confirm = question["quickReply"]["items"][0]["action"]["data"]
    return user.taps(confirm)


def code_in(message: dict) -> str:
    return message["contents"]["body"]["contents"][0]["text"]


def balance(store, user) -> int:
    return store.member_by_line_id(user.id)["points"]


def test_owner_builds_the_catalogue(owner, store):
    tea = add_reward(owner, "100 20 Free Thai tea | th=ชาไทยฟรี | zh=免費泰式奶茶 limit:2")
    add_reward(owner, "300 unlimited Tote bag image:https://cdn.example.com/bag.jpg")

    listing = texts(owner.says("/reward list"))[0].splitlines()
    assert listing[0] == "Rewards:"
    assert listing[1] == f"{tea} · Free Thai tea · 100 points, stock 20, redeemed 0"
    assert listing[2].endswith("300 points, stock unlimited, redeemed 0")
    reward = store.reward(tea)
    assert reward["names"] == {
        "default": "Free Thai tea",
        "th": "ชาไทยฟรี",
        "zh_Hant": "免費泰式奶茶",
    }
    assert reward["per_member_limit"] == 2

    assert texts(owner.says(f"/reward stock {tea} 5")) == [f"Stock of {tea} is now 5."]
    assert texts(owner.says(f"/reward edit {tea} points 120")) == [f"Reward {tea} updated."]
    assert texts(owner.says(f"/reward off {tea}")) == [f"Reward {tea} is off the menu."]
    assert store.reward(tea)["points"] == 120 and store.reward(tea)["stock"] == 5
    assert texts(owner.says("/reward stock WZZZ 5")) == ["No reward WZZZ. See /reward list."]
    assert texts(owner.says("/reward add lots 5 Tea")) == [
        "Points: “lots” is not a whole number from 1 to 1,000,000."
    ]
    assert texts(owner.says("/reward add 5"))[0].startswith("Usage:")
    assert texts(owner.says("/reward add 100 5 Tea image:http://insecure"))[0].startswith("Usage:")


def test_the_rewards_carousel_marks_what_the_member_can_afford(owner, member, store):
    add_reward(owner, "30 5 Cookie")
    add_reward(owner, "80 unlimited Thai tea")

    carousel = member.says("rewards")[0]

    assert carousel["altText"] == "Rewards: you have 50 points."
    cookie, tea = carousel["contents"]["contents"]
    assert cookie["body"]["contents"][0]["text"] == "Cookie"
    assert cookie["body"]["contents"][2]["text"] == "Only 5 left"
    assert cookie["footer"]["contents"][0]["action"]["label"] == "Redeem"
    assert tea["body"]["contents"][-1]["text"] == "You need 30 more points."
    assert tea["footer"]["contents"][0]["action"]["label"] == "Refresh"


def test_a_long_catalogue_is_paged(owner, member):
    for index in range(15):
        add_reward(owner, f"{10 + index} unlimited Prize {index}")

    first = member.says("rewards")[0]["contents"]["contents"]
    more = first[-1]["footer"]["contents"][0]["action"]["data"]
    second = member.taps(more)[0]["contents"]["contents"]

    assert len(first) == 12 and len(second) == 4
    assert first[-1]["body"]["contents"][0]["text"] == "4 more rewards"


def test_redeem_then_staff_confirms(owner, cashier, member, store, sim):
    cookie = add_reward(owner, "30 5 Cookie")

    question = member.taps(f"a=redeem&r={cookie}")
    assert texts(question) == ["Redeem Cookie for 30 points?\nYou will have 20 points left."]
    shown = member.taps(question[0]["quickReply"]["items"][0]["action"]["data"])[0]

    code = code_in(shown)
    assert shown["altText"] == f"Your reward code: {code}"
    assert "/qr/SMR1." in shown["contents"]["hero"]["url"]
    assert balance(store, member) == 20
    assert store.reward(cookie)["stock"] == 4
    assert code in texts(member.says("coupons"))[0]

    reply = texts(cashier.says(f"/use {code}"))
    assert reply == ["OK: hand over Cookie to Alice."]
    assert texts(member.inbox)[-1] == f"Enjoy your Cookie! Code {code} has been used."
    assert store.redemption(code)["status"] == "used"
    assert store.redemption(code)["used_branch"] == "asoke"
    assert texts(cashier.says(f"/use {code}"))[0].startswith(f"Code {code} was already used on")
    assert store.reward(cookie)["stock"] == 4 and balance(store, member) == 20


def test_a_stale_redeem_button_says_how_many_points_are_missing(owner, member, store):
    tea = add_reward(owner, "80 5 Thai tea")
    cake = add_reward(owner, "51 5 Cake")
    cookie = add_reward(owner, "10 1 Cookie")
    owner.says(f"/reward stock {cookie} 0")

    short = member.taps(f"a=redeem&r={tea}")[0]
    one_short = member.taps(f"a=redeem&r={cake}")[0]
    gone = member.taps(f"a=redeem&r={cookie}")[0]

    assert short["text"] == "You need 30 more points for Thai tea."
    assert [i["action"]["label"] for i in short["quickReply"]["items"]] == ["See rewards"]
    assert one_short["text"] == "You need 1 more point for Cake."
    assert gone["text"] == "Sorry, Cookie has run out."
    carousel = member.says("rewards")[0]["contents"]["contents"]
    assert carousel[1]["body"]["contents"][-1]["text"] == "You need 1 more point."
    assert balance(store, member) == 50 and store.db.redemptions.count_documents({}) == 0


def test_a_double_tapped_confirmation_redeems_once(owner, member, store):
    cookie = add_reward(owner, "30 5 Cookie")
    question = member.taps(f"a=redeem&r={cookie}")[0]
    confirm = question["quickReply"]["items"][0]["action"]["data"]

    first = member.taps(confirm)[0]
    second = member.taps(confirm)[0]

    assert code_in(first) == code_in(second)
    assert balance(store, member) == 20
    assert store.reward(cookie)["stock"] == 4


def test_short_of_points_at_confirmation_nothing_is_taken(owner, member, store):
    tea = add_reward(owner, "40 5 Thai tea")
    question = member.taps(f"a=redeem&r={tea}")[0]
    owner.says(f"/adjust {store.member_by_line_id(member.id)['code']} -20 test")  # 50 → 30

    reply = member.taps(question["quickReply"]["items"][0]["action"]["data"])

    assert texts(reply) == ["You need 10 more points for this reward. Your points were not used."]
    assert balance(store, member) == 30
    assert store.reward(tea)["stock"] == 5


def test_out_of_stock_at_confirmation(owner, member, store):
    tea = add_reward(owner, "10 1 Thai tea")
    question = member.taps(f"a=redeem&r={tea}")[0]
    owner.says(f"/reward stock {tea} 0")

    reply = member.taps(question["quickReply"]["items"][0]["action"]["data"])

    assert texts(reply) == ["Sorry, this reward just ran out. Your points were not used."]
    assert balance(store, member) == 50


def test_the_per_member_limit(owner, member, store):
    tea = add_reward(owner, "10 unlimited Thai tea limit:1")
    redeem(member, tea)

    assert texts(redeem(member, tea)) == [
        "You have already redeemed this reward as many times as allowed."
    ]
    assert balance(store, member) == 40


def test_an_expired_or_refused_redemption_gives_its_limit_slot_back(
    owner, member, store, services, cashier
):
    tea = add_reward(owner, "10 1 Thai tea limit:1")
    code = code_in(redeem(member, tea)[0])
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        points_jobs.expire_redemptions(store, services.line, services.config)
    question = member.taps(f"a=redeem&r={tea}")[0]
    owner.says(f"/reward stock {tea} 0")
    assert texts(member.taps(question["quickReply"]["items"][0]["action"]["data"])) == [
        "Sorry, this reward just ran out. Your points were not used."
    ]
    owner.says(f"/reward stock {tea} 1")

    again = code_in(redeem(member, tea)[0])
    assert texts(cashier.says(f"/use {again}")) == ["OK: hand over Thai tea to Alice."]

    assert again != code and store.redemption(code)["status"] == "expired"
    owner.says(f"/reward stock {tea} unlimited")
    assert texts(redeem(member, tea)) == [
        "You have already redeemed this reward as many times as allowed."
    ]
    assert balance(store, member) == 40
    assert store.db.reward_slots.count_documents({}) == 1


def test_an_unused_code_expires_and_gives_points_and_stock_back(
    owner, member, store, services, cashier
):
    cookie = add_reward(owner, "30 5 Cookie")
    code = code_in(redeem(member, cookie)[0])

    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert points_jobs.expire_redemptions(store, services.line, services.config) == 1
        refused = texts(cashier.says(f"/use {code}"))

    assert refused == [f"Code {code} has expired."]
    assert balance(store, member) == 50
    assert store.reward(cookie)["stock"] == 5
    assert store.redemption(code)["status"] == "expired"
    assert "expired unused, so 30 points are back" in texts(member.inbox)[-1]


def test_using_a_code_after_its_time_refunds_it_on_the_spot(owner, member, store, cashier):
    cookie = add_reward(owner, "30 5 Cookie")
    code = code_in(redeem(member, cookie)[0])

    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert texts(cashier.says(f"/use {code}")) == [f"Code {code} has expired."]

    assert balance(store, member) == 50 and store.reward(cookie)["stock"] == 5


def test_a_branch_only_reward_is_refused_elsewhere(owner, member, store, sim):
    owner.says("/branch add siam Siam")
    cake = add_reward(owner, "10 5 Cake branch:siam")
    code = code_in(redeem(member, cake)[0])
    clerk = sim.user("nid", language="en")
    store.add_staff(clerk.id, "asoke", "Nid", "owner")

    assert texts(clerk.says(f"/use {code}")) == [f"Code {code} can only be used at branch siam."]
    assert texts(owner.says(f"/use {code}")) == ["OK: hand over Cake to Alice."]


def test_unknown_codes_are_refused(cashier):
    assert texts(cashier.says("/use RNOPE123")) == ["No reward or coupon has the code RNOPE123."]
    assert texts(cashier.says("/use")) == ["Usage: /use <code>"]


def test_coupons_given_shown_used_and_linked_to_a_purchase(owner, cashier, member, store):
    code = store.member_by_line_id(member.id)["code"]

    reply = texts(owner.says(f"/coupon give {code} percent 20 days:14 min:200"))[0]
    coupon_code = re.match(r"Coupon (C\w{7})", reply).group(1)

    assert reply == f"Coupon {coupon_code} (20% off (min. spend ฿200.00)) sent to Alice."
    assert (
        f"A gift for you: 20% off (min. spend ฿200.00). Code {coupon_code}"
        in texts(member.inbox)[-1]
    )
    assert coupon_code in texts(member.says("coupons"))[0]

    too_small = texts(cashier.says(f"/earn {code} 150 coupon:{coupon_code}"))[0]
    assert too_small == "This purchase is below the coupon's minimum spend. Nothing was recorded."
    earned = texts(cashier.says(f"/earn {code} 250 coupon:{coupon_code}"))[0]
    assert earned.endswith(f"Coupon {coupon_code} used with this purchase.")
    purchase_id = re.match(r"Purchase (\w{8}):", earned).group(1)
    assert store.purchase(purchase_id)["coupon"] == coupon_code
    assert store.coupon(coupon_code)["purchase_id"] == purchase_id
    assert texts(cashier.says(f"/use {coupon_code}"))[0].startswith(
        f"Code {coupon_code} was already used on"
    )


def test_a_coupon_is_used_once_at_the_counter(owner, cashier, member, store):
    code = store.member_by_line_id(member.id)["code"]
    reply = texts(owner.says(f"/coupon give {code} free Thai tea"))[0]
    coupon_code = re.match(r"Coupon (C\w{7})", reply).group(1)

    assert texts(cashier.says(f"/use {coupon_code}")) == ["OK: hand over free Thai tea to Alice."]
    assert store.coupon(coupon_code)["status"] == "used"


@pytest.mark.parametrize(
    "command",
    ["/coupon give {code} bogus 5", "/coupon take {code} x y", "/coupon give {code} percent"],
)
def test_bad_coupon_commands_get_the_usage(owner, member, store, command):
    reply = texts(owner.says(command.format(code=store.member_by_line_id(member.id)["code"])))[0]

    assert reply.startswith("Usage: /coupon give")


def test_a_coupon_number_out_of_range_is_named(owner, member, store):
    code = store.member_by_line_id(member.id)["code"]

    reply = texts(owner.says(f"/coupon give {code} percent 120"))

    assert reply == ["Percent: “120” is not a whole number from 1 to 100."]
    assert store.db.coupons.count_documents({}) == 0


def test_staff_can_scan_the_redemption_qr(owner, cashier, member):
    cookie = add_reward(owner, "30 5 Cookie")
    shown = redeem(member, cookie)[0]
    token = shown["contents"]["hero"]["url"].rsplit("/", 1)[1].removesuffix(".png")

    assert texts(cashier.says(f"/use {token}")) == ["OK: hand over Cookie to Alice."]


def test_codes_show_the_date_and_time_they_expire_in_the_readers_language(owner, member, store):
    cookie = add_reward(owner, "30 5 Cookie")
    code = store.member_by_line_id(member.id)["code"]

    with time_machine.travel(datetime(2026, 11, 23, 7, 5, tzinfo=UTC)):
        owner.says(f"/coupon give {code} percent 20 days:14")
        shown = redeem(member, cookie)[0]
        english = texts(member.says("coupons"))[0]
        member.says("language th")
        thai = texts(member.says("coupons"))[0]

    gift = next(m for m in texts(member.inbox) if m.startswith("A gift for you"))
    assert "valid until Dec 7, 2026 at 2:05\u202fPM." in gift
    assert shown["contents"]["body"]["contents"][-1]["text"] == (
        "Valid until Nov 23, 2026 at 2:20\u202fPM."
    )
    assert "(until Dec 7, 2026 at 2:05\u202fPM)" in english
    assert "(until Nov 23, 2026 at 2:20\u202fPM)" in english
    assert "(ใช้ได้ถึง 7 ธ.ค. 2569 เวลา 14:05 น.)" in thai

"""`delete my data`: afterwards nothing in the database identifies the person.

Ploy is a member and also staff at Asoke, so her LINE id sits in rows about other
people (purchases she rang up, coupons she accepted, the audit log). The test
scans every collection of the database, whatever it is called, so a collection
added later is covered without touching this file.
"""

import re

import pytest

from bot.marketing import audience
from bot.members import privacy
from bot.store import utcnow
from jobs import campaign_jobs
from simulator import texts
from tests.conftest import sign_up
from tests.test_campaigns import create
from tests.test_rewards import add_reward, code_in, redeem
from tests.test_staff import invite_code

PLOY = {
    "first": "Ploypailin",
    "last": "Wongsawat",
    "phone": "086 123 4567",
    "email": "ploy.w@example.com",
}


@pytest.fixture
def ploy(sim, app, store):
    """A member who is also staff at Asoke; her LINE display name is "Khun Ploy"."""
    store.add_branch("asoke", "Asoke")
    user = sim.user("ploy", "Khun Ploy", language="en")
    user.state.friend = True
    sign_up(user, **PLOY)
    return user


@pytest.fixture
def bob(sim, app):
    user = sim.user("bob", "Bob", language="en")
    user.state.friend = True
    sign_up(user, first="Bob", last="Jones", phone="089 999 9999", email="bob@example.com")
    return user


def identifying_values(user) -> list[str]:
    digits = re.sub(r"\D", "", PLOY["phone"])
    return [
        user.id,
        "Khun Ploy",
        PLOY["first"],
        PLOY["last"],
        PLOY["email"],
        digits,  # 0861234567
        "+66" + digits[1:],
        digits[1:],  # 861234567, inside any other spelling of the number
    ]


def strings_in(value, path=""):
    """Every (path, string) in a document, keys included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", str(key)
            yield from strings_in(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}[{index}]")
    elif value is not None:
        yield path, str(value)


def traces(store, needles: list[str]) -> list[str]:
    """Where any of `needles` still appears, in any field of any collection."""
    found = []
    for name in sorted(store.db.list_collection_names()):
        for doc in store.db[name].find():
            for path, value in strings_in(doc):
                found += [f"{name}{path}: {n!r}" for n in needles if n.lower() in value.lower()]
    return found


PURCHASE = re.compile(r"Purchase (\w{8}):")
COUPON = re.compile(r"Coupon (C\w{7})")


def first_word(pattern: re.Pattern, replies: list[dict]) -> str:
    return pattern.match(texts(replies)[0]).group(1)


def live_through_a_busy_month(services, owner, ploy, bob):
    """Ploy works the counter, shops, is adjusted, tagged, queued for a campaign."""
    store = services.store
    ploy.says(f"/join {invite_code(texts(owner.says('/staff invite asoke'))[0])}")
    ploy_code = store.member_by_line_id(ploy.id)["code"]
    bob_code = store.member_by_line_id(bob.id)["code"]
    # At the counter: purchases, a void, a coupon and a reward code for Bob.
    ploy.says(f"/void {first_word(PURCHASE, ploy.says(f'/earn {bob_code} 500'))}")
    ploy.says(f"/earn {bob_code} 400")
    ploy.says(f"/use {first_word(COUPON, owner.says(f'/coupon give {bob_code} percent 10'))}")
    cookie = add_reward(owner, "10 5 Cookie")
    ploy.says(f"/use {code_in(redeem(bob, cookie)[0])}")
    # Her own life as a member, with free text about her typed by the owner.
    owner.says(f"/earn {ploy_code} 300")
    owner.says(f"/adjust {ploy_code} +10 birthday gift for Ploypailin Wongsawat 0861234567")
    owner.says(f"/coupon give {ploy_code} percent 20")
    redeem(ploy, cookie)
    owner.says(f"/tag {ploy_code} ploypailin")
    owner.says("/member 0861234567")
    ploy.says(f"/adjust {bob_code} +5 from Ploypailin")  # refused, but audited
    # A campaign snapshot waits to be sent: its queue holds LINE ids and first names.
    campaign_id = create(owner, "Hello | audience: optin | text: Hi {first_name} | holdout: 0")
    run_id = campaign_jobs._claim(store, store.campaign(campaign_id))
    audience.snapshot(store, store.campaign(campaign_id), run_id, utcnow(), services.config.tz)


def test_after_erasure_no_collection_holds_anything_that_identifies_the_person(
    services, store, owner, ploy, bob
):
    live_through_a_busy_month(services, owner, ploy, bob)
    needles = identifying_values(ploy)
    before = {trace.split(".")[0] for trace in traces(store, needles)}
    assert before >= {"members", "member_phones", "staff", "invites", "purchases", "ledger"}
    assert before >= {"coupons", "redemptions", "audit", "batch_queues"}

    ploy.says("delete my data")
    assert texts(ploy.says("yes"))[0].startswith("Your personal data has been erased")

    left = traces(store, needles)
    assert left == [], "still identifying:\n" + "\n".join(left)


def test_rows_kept_for_the_accounts_carry_one_pseudonym_and_she_is_no_longer_staff(
    services, store, owner, ploy, bob
):
    live_through_a_busy_month(services, owner, ploy, bob)
    bob_id = store.member_by_line_id(bob.id)["_id"]
    bob_points = store.member_by_id(bob_id)["points"]

    ploy.says("delete my data")
    ploy.says("yes")

    alias = privacy.pseudonym(services.config.SECRET_KEY, ploy.id)
    assert {p["staff"] for p in store.db.purchases.find({"member_id": bob_id})} == {alias}
    assert store.db.purchases.find_one({"status": "voided"})["voided_by"] == alias
    assert store.db.coupons.find_one({"member_id": bob_id})["used_by"] == alias
    assert store.db.invites.find_one()["used_by"] == alias
    assert store.db.audit.count_documents({"actor": alias}) == 7  # /join … /adjust
    assert store.db.staff.find_one({"_id": alias})["active"] is False
    assert store.member_by_id(bob_id)["points"] == bob_points  # Bob's points untouched
    refused = texts(ploy.says(f"/earn {store.member_by_id(bob_id)['code']} 100"))
    assert refused == ["Sorry, you are not allowed to use /earn."]


def test_a_pseudonym_is_stable_and_says_nothing_of_the_line_id():
    first = privacy.pseudonym("secret", "U" + "a" * 32)

    assert first == privacy.pseudonym("secret", "U" + "a" * 32)
    assert first != privacy.pseudonym("secret", "U" + "b" * 32)
    assert first != privacy.pseudonym("other secret", "U" + "a" * 32)
    assert "aaaa" not in first


def test_an_owner_who_erases_their_membership_leaves_only_a_pseudonym(services, store, owner, bob):
    sign_up(owner, first="Olivia", last="Owner", phone="086 000 0000", email=None)
    bob_code = store.member_by_line_id(bob.id)["code"]
    owner.says("/staff invite")
    owner.says(f"/coupon give {bob_code} percent 10")
    owner.says(f"/adjust {bob_code} +5 welcome gift")
    owner.says("/segment save regulars visits:>=3")

    owner.says("delete my data")
    owner.says("yes")

    assert traces(store, [owner.id, "Olivia"]) == []
    alias = privacy.pseudonym(services.config.SECRET_KEY, owner.id)
    assert store.db.coupons.find_one()["source"]["by"] == alias
    assert store.segment("regulars")["by"] == alias

"""Bugs the reliability tests found, each pinned down by the story that shows it."""

from bot.loyalty import counter
from jobs import segment_jobs
from simulator import texts


def buttons(message: dict) -> dict[str, str]:
    return {i["action"]["label"]: i["action"]["data"] for i in message["quickReply"]["items"]}


def test_an_old_branch_button_after_another_purchase_counts_no_second_visit(
    owner, cashier, member, store, services
):
    """Found by the points state machine: a purchase finished again (a redelivered `/earn`
    or its other branch button) after the member's next purchase counted a second visit."""
    code = store.member_by_line_id(member.id)["code"]
    question = owner.says(f"/earn {code} 150")[0]
    owner.taps(buttons(question)["Asoke"])
    owner.says(f"/earn {code} 300 asoke")

    again = texts(owner.taps(buttons(question)["Siam Square"]))

    assert "was already recorded" in again[0]
    stats = store.member_by_line_id(member.id)["stats"]
    assert (stats["visits"], stats["spend"]) == (2, 45_000)
    assert segment_jobs.rebuild_stats(store, services.config.tz, fix=False) == []


def test_a_regular_keeps_the_last_24_visit_dates_and_stats_equal_a_rebuild(member, store, services):
    """Found by the state machine's long run: FerretDB ignores `$push`'s `$slice`, so on
    the dev server the 25th visit kept 25 dates and the stats no longer equalled a rebuild."""
    tz = services.config.tz
    for n in range(26):
        doc = store.member_by_line_id(member.id)
        counter.record_purchase(store, doc, 10_000 + n, None, "staff", None, tz, key=f"k{n}")

    stats = store.member_by_line_id(member.id)["stats"]
    assert stats["visits"] == 26
    assert len(stats["visit_dates"]) == 24 and len(stats["counted"]) == 24
    assert segment_jobs.rebuild_stats(store, tz, fix=False) == []

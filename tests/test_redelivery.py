"""Bugs the reliability tests found, each pinned down by the story that shows it."""

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

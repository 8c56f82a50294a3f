"""The frequency cap counts each member's recent campaign messages across runs and batches."""

import uuid
from datetime import UTC, datetime

import time_machine

from bot.marketing.sending import Sender
from bot.store import utcnow
from jobs import campaign_jobs
from simulator import user_id_for

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok


def campaign(store, tag: str) -> str:
    cid = f"KCAP{uuid.uuid4().hex[:6].upper()}"
    store.insert_campaign(
        {
            "_id": cid,
            "name": tag,
            "audience": f"tag:{tag}",
            "filters": f"tag:{tag}",
            "template": "news",
            "content": {"title": "News", "text": "Hello", "image": None},
            "coupon": None,
            "holdout": 0.0,
            "schedule": {"type": "once", "at": utcnow()},
            "window_days": 7,
            "status": "scheduled",
            "next_run_at": utcnow(),
        }
    )
    return cid


def test_members_are_capped_by_what_earlier_runs_sent_them(sim, store, services):
    # Twelve members; earlier campaigns reach overlapping groups in batches of two.
    tags = {0: ["a", "b", "all"], 1: ["a", "all"], 2: ["b", "all"], 3: ["all"]}
    members = []
    for index in range(12):
        line_id = user_id_for(f"capped{index}")
        sim.user(f"capped{index}").state.friend = True
        member, _new = store.record_follow(line_id, "en")
        groups = tags[index % 4]
        store.db.members.update_one(
            {"_id": member["_id"]},
            {"$set": {"status": "member", "marketing_opt_in": True, "tags": groups}},
        )
        members.append((member["_id"], groups))
    store.put_setting("quiet_hours", ["00:00", "00:00"])
    store.put_setting("campaign_batch_size", 2)
    store.put_setting("campaign_cap", [2, 7])
    sender = Sender(store, services.line, services.config, threads=2)
    with time_machine.travel(NOW, tick=False):
        for tag in ("a", "b"):
            campaign(store, tag)
            campaign_jobs.run_due(sender)
        last = campaign(store, "all")
        campaign_jobs.run_due(sender)

    rows = {
        row["member_id"]: row["status"] for row in store.db.deliveries.find({"campaign_id": last})
    }
    for member_id, groups in members:
        earlier = len({"a", "b"} & set(groups))
        assert rows[member_id] == ("capped" if earlier >= 2 else "pending"), (
            groups,
            rows[member_id],
        )
    counts = store.campaign_counts(last)
    assert counts == {"capped": 3, "sent": 9}

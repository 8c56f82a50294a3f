"""The demo merchant that `make demo` starts with: a four-branch tea shop."""

from bot.store import Store

MERCHANT = {
    "name": "Cha Samachik Tea House",
    "currency": "THB",
}
BRANCHES = [
    {"_id": "asoke", "name": "Asoke"},
    {"_id": "ratchada", "name": "Ratchada"},
    {"_id": "siam", "name": "Siam Square"},
    {"_id": "ari", "name": "Ari"},
]


def seed(store: Store) -> None:
    """Insert or refresh the demo merchant without touching members or points."""
    store.put_setting("merchant", MERCHANT)
    for branch in BRANCHES:
        store.upsert_branch(branch)

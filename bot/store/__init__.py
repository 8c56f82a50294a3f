"""The one place that talks to MongoDB: every query and every index (DESIGN §5, §6).

Each module below owns some collections and their indexes; `Store` joins them.
Everything stays inside what both FerretDB 1.x (the dev server) and MongoDB 6+
support: no TTL or partial indexes, no transactions, only single-document
atomic writes and unique keys for idempotency.
"""

from bot.store.audit import AuditStore
from bot.store.base import connect, utcnow
from bot.store.campaigns import CampaignStore
from bot.store.charts import ChartStore
from bot.store.dashboard import DashboardStore
from bot.store.erasure import ErasureStore
from bot.store.events import EventStore
from bot.store.images import ImageStore
from bot.store.leases import LeaseStore
from bot.store.ledger import InsufficientPointsError, LedgerConflictError, LedgerStore
from bot.store.members import MemberStore
from bot.store.purchases import PurchaseStore
from bot.store.ratelimits import RateLimitStore
from bot.store.reports import ReportStore
from bot.store.rewards import RewardStore
from bot.store.richmenus import RichMenuStore
from bot.store.segments import SegmentStore
from bot.store.settings import SettingsStore
from bot.store.staff import StaffStore
from bot.store.tickets import TicketStore

BACKFILL_SETTING = "key_backfill"
BACKFILL_VERSION = 1


class Store(
    EventStore,
    LeaseStore,
    MemberStore,
    LedgerStore,
    PurchaseStore,
    RewardStore,
    SegmentStore,
    CampaignStore,
    ReportStore,
    StaffStore,
    AuditStore,
    SettingsStore,
    ErasureStore,
    ImageStore,
    DashboardStore,
    ChartStore,
    RateLimitStore,
    RichMenuStore,
    TicketStore,
):
    """All queries, grouped by the collections they serve."""

    def backfill(self, force: bool = False) -> dict | None:
        """Fill the `_id`-keyed lookups for data written before they existed (init-db).

        Idempotent: it writes only what is missing. Once done it is marked in the
        settings, since the code keeps them up to date from then on; `force` runs it
        again (None when there was nothing to do).
        """
        if not force and self.get_setting(BACKFILL_SETTING) == BACKFILL_VERSION:
            return None
        done = {
            **self.backfill_member_keys(),
            "ledger_keys": self.backfill_ledger_keys(),
            "reward_keys": self.backfill_reward_keys(),
        }
        self.purchase_totals()  # counted once, if the shop's figure does not exist yet
        self.put_setting(BACKFILL_SETTING, BACKFILL_VERSION)
        return done


__all__ = [
    "InsufficientPointsError",
    "LedgerConflictError",
    "Store",
    "connect",
    "utcnow",
]

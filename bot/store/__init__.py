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


__all__ = [
    "InsufficientPointsError",
    "LedgerConflictError",
    "Store",
    "connect",
    "utcnow",
]

"""Many merchants on one deployment (DESIGN §9): records, credentials, per-merchant Services."""

from bot.merchants.records import MerchantError, OperatorStore, check_slug, public
from bot.merchants.registry import Merchants, merchant_secret_key

__all__ = [
    "MerchantError",
    "Merchants",
    "OperatorStore",
    "check_slug",
    "merchant_secret_key",
    "public",
]

"""The translator for someone other than the sender (notifications, jobs)."""

from bot.config import Config
from bot.i18n import Translator, translator


def translator_for(member: dict, config: Config) -> Translator:
    return translator(member.get("locale") or config.DEFAULT_LOCALE)

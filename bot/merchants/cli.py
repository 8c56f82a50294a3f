"""`flask --app bot merchant …`: register, inspect, disable and rotate merchants."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask import Blueprint, current_app

from bot.config import SUPPORTED_LOCALES
from bot.line_api import LineApiError
from bot.merchants.records import MerchantError, public

bp = Blueprint("merchant_cli", __name__, cli_group="merchant")


def _merchants():
    merchants = current_app.extensions.get("samachik.merchants")
    if merchants is None:
        raise click.ClickException(
            "multi-merchant mode is off: set MERCHANT_KEYS_SECRET (see README, Many merchants)"
        )
    return merchants


def _check_timezone(_ctx, _param, value):
    try:
        return value and str(ZoneInfo(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"not a known time zone: {value!r}") from None


@bp.cli.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="the shop's name")
@click.option("--channel-secret", prompt=True, hide_input=True, help="LINE channel secret")
@click.option("--access-token", prompt=True, hide_input=True, help="LINE channel access token")
@click.option("--owner", "owners", multiple=True, help="an owner's LINE user id (repeatable)")
@click.option("--timezone", callback=_check_timezone, help="e.g. Asia/Bangkok")
@click.option("--locale", type=click.Choice(SUPPORTED_LOCALES), help="default language")
@click.option("--mongodb-uri", help="its own cluster (default: the deployment's)")
@click.option("--db-name", help="its database name (default: <MONGODB_DB>_<slug>)")
def add(slug, name, channel_secret, access_token, owners, timezone, locale, mongodb_uri, db_name):
    """Register a merchant and create its database."""
    merchants = _merchants()
    wanted = merchants.db_name_of({"_id": slug, "db_name": db_name})
    if merchants.operator.version(slug) is None and merchants.db_name_taken(wanted):
        raise click.ClickException("that database is in use already: each merchant has its own")
    secrets = {
        "channel_secret": channel_secret,
        "access_token": access_token,
        "mongodb_uri": mongodb_uri,
    }
    fields = {"owners": list(owners), "timezone": timezone, "locale": locale, "db_name": db_name}
    try:
        merchants.operator.add_merchant(slug, name, secrets, **fields)
    except MerchantError as error:
        raise click.ClickException(str(error)) from None
    services = merchants.services(slug)
    services.store.ensure_indexes()
    base = merchants.base.PUBLIC_BASE_URL.rstrip("/")
    click.echo(f"merchant {slug} added; database {services.store.db.name!r}")
    click.echo(f"webhook URL for the LINE console: {base}/callback/{slug}")


@bp.cli.command("list")
def list_merchants():
    """Every merchant: slug, status, name."""
    for record in _merchants().operator.merchants():
        click.echo(f"{record['_id']:<30} {record['status']:<9} {record['name']}")


@bp.cli.command("show")
@click.argument("slug")
def show(slug):
    """One merchant's record, credentials masked."""
    record = _merchants().operator.merchant(slug)
    if record is None:
        raise click.ClickException(f"no merchant {slug!r}")
    for key, value in sorted(public(record).items()):
        click.echo(f"{key}: {value}")


def _set_status(slug: str, status: str) -> None:
    merchants = _merchants()
    if not merchants.operator.update_merchant(slug, {"status": status}):
        raise click.ClickException(f"no merchant {slug!r}")
    merchants.invalidate(slug)


@bp.cli.command("disable")
@click.argument("slug")
def disable(slug):
    """Stop a merchant: its webhooks answer 404, its jobs and campaigns stop."""
    _set_status(slug, "disabled")
    click.echo(f"merchant {slug} disabled (other processes follow within seconds)")


@bp.cli.command("enable")
@click.argument("slug")
def enable(slug):
    """Serve a disabled merchant again."""
    _set_status(slug, "active")
    click.echo(f"merchant {slug} enabled")


@bp.cli.command("rotate-token")
@click.argument("slug")
@click.option("--access-token", prompt=True, hide_input=True, help="the new access token")
@click.option("--channel-secret", help="a new channel secret too, if it was reissued")
def rotate_token(slug, access_token, channel_secret):
    """Replace a merchant's access token (and optionally its channel secret)."""
    merchants = _merchants()
    secrets = {"access_token": access_token, "channel_secret": channel_secret}
    if not merchants.operator.update_merchant(slug, {}, secrets):
        raise click.ClickException(f"no merchant {slug!r}")
    merchants.invalidate(slug)
    click.echo(f"merchant {slug}: credentials replaced")


@bp.cli.command("rekey")
def rekey():
    """Re-encrypt all credentials with the first MERCHANT_KEYS_SECRET (key rotation)."""
    done = _merchants().operator.rekey()
    click.echo(f"{done} merchants re-encrypted with the newest key")


@bp.cli.command("stats")
def stats():
    """Per merchant: members, purchases and LINE messages this month, quota left."""
    merchants = _merchants()
    click.echo(
        f"{'merchant':<20} {'status':<9} {'members':>8} {'purchases':>9} "
        f"{'sent':>8} {'quota left':>10}"
    )
    for record in merchants.operator.merchants():
        slug = record["_id"]
        store = merchants.store_for(record)
        tz = ZoneInfo(record.get("timezone") or merchants.base.TIMEZONE)
        month = datetime.now(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        members = store.db.members.count_documents({"status": "member"})
        bought = store.db.purchases.count_documents(
            {"status": "active", "created_at": {"$gte": month}}
        )
        sent, left = _quota(merchants.services(slug))
        click.echo(
            f"{slug:<20} {record['status']:<9} {members:>8} {bought:>9} {sent:>8} {left:>10}"
        )


def _quota(services) -> tuple[str, str]:
    """Messages sent this month and left, as LINE counts them; '-' if it cannot say."""
    if services is None:
        return "-", "-"
    try:
        quota = services.line.quota()
    except LineApiError:
        return "-", "-"
    left = "unlimited" if quota["type"] == "none" else str(quota["limit"] - quota["used"])
    return str(quota["used"]), left

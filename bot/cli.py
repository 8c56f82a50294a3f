"""`flask --app bot …` commands for operators."""

import time

import click
from flask import Blueprint, current_app

from bot.analytics import rollups
from bot.demo import demo_history, demo_seed
from bot.loyalty import points
from bot.store import utcnow

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("init-db")
@click.option("--backfill", is_flag=True, help="fill the lookup collections again")
def init_db(backfill: bool):
    """Create collections and indexes, and fill lookups for older data (safe to run again)."""
    store = current_app.extensions["samachik"].store
    created = store.ensure_indexes()
    click.echo(f"indexes ready ({len(created)} ensured) in database {store.db.name!r}")
    filled = store.backfill(force=backfill)
    if filled is not None:
        click.echo("lookups filled: " + ", ".join(f"{k} {v}" for k, v in filled.items()))


@bp.cli.command("seed-demo")
@click.option("--members", default=2000, show_default=True, help="members with a history")
@click.option("--months", default=6, show_default=True, help="months of purchases")
@click.option("--seed", default=7, show_default=True, help="random seed (same seed, same data)")
def seed_demo(members: int, months: int, seed: int):
    """Load the demo merchant with its history (once; later runs keep the data)."""
    services = current_app.extensions["samachik"]
    store = services.store
    store.ensure_indexes()
    store.backfill()
    demo_seed.seed(store)
    owner = min(services.config.ADMIN_LINE_USER_IDS, default=None)
    started = time.monotonic()
    summary = demo_history.generate(
        store,
        now=utcnow(),
        tz=services.config.tz,
        members=members,
        months=months,
        seed=seed,
        owner=owner,
    )
    if summary.skipped:
        click.echo("demo merchant ready (history kept from an earlier run)")
        return
    click.echo(
        f"demo merchant ready: {summary.members:,} members, {summary.purchases:,} purchases,"
        f" {summary.redemptions:,} redemptions in {time.monotonic() - started:.0f}s"
    )


@bp.cli.command("rollups")
@click.option("--check", is_flag=True, help="only report rollups that differ from the data")
def rebuild_rollups(check: bool):
    """Rebuild report rollups from purchases, ledger and members; exit 1 if any differed."""
    services = current_app.extensions["samachik"]
    differing = rollups.rebuild(services.store, services.config.tz, fix=not check)
    for problem in differing:
        click.echo(problem)
    click.echo(f"{len(differing)} rollups differed" + ("" if check else " (rebuilt)"))
    if differing and check:
        raise SystemExit(1)


@bp.cli.command("check-ledger")
def check_ledger():
    """Recompute every balance from the ledger; exit 1 on any difference."""
    store = current_app.extensions["samachik"].store
    problems = points.check_ledger(store)
    for problem in problems:
        click.echo(problem)
    if problems:
        raise SystemExit(1)
    click.echo(f"ledger consistent ({len(store.all_member_ids_with_ledger())} members checked)")


@bp.cli.command("rfm")
def rfm_scores():
    """Score every member's RFM now (the worker also does it nightly)."""
    from jobs import segment_jobs  # noqa: PLC0415 - jobs depend on bot, not the reverse

    summary = segment_jobs.score_rfm(current_app.extensions["samachik"].store)
    click.echo(f"scored {summary['scored']} members, {summary['changed']} changed")
    for name, count in sorted(summary["groups"].items()):
        click.echo(f"  {name}: {count}")


@bp.cli.command("rebuild-stats")
@click.option("--check", is_flag=True, help="only report members whose stats differ")
def rebuild_stats(check: bool):
    """Recompute behaviour stats from purchases; exit 1 if any differed."""
    from jobs import segment_jobs  # noqa: PLC0415

    services = current_app.extensions["samachik"]
    differing = segment_jobs.rebuild_stats(services.store, services.config.tz, fix=not check)
    for member_id in differing:
        click.echo(f"{member_id}: stats differed from purchases")
    click.echo(f"{len(differing)} members differed")
    if differing:
        raise SystemExit(1)


@bp.cli.group("richmenu")
def richmenu_group():
    """Rich menus at LINE: `deploy` the layout, or show its `status`."""


MERCHANT_OPTION = click.option(
    "--merchant", "slug", default=None, help="a merchant's slug (multi-merchant mode)"
)


def _services(slug: str | None):
    """The app's services, or one merchant's."""
    if slug is None:
        return current_app.extensions["samachik"]
    merchants = current_app.extensions.get("samachik.merchants")
    services = merchants.services(slug) if merchants else None
    if services is None:
        raise click.ClickException(f"no active merchant {slug!r} (see `merchant list`)")
    return services


@richmenu_group.command("deploy")
@MERCHANT_OPTION
def richmenu_deploy(slug: str | None):
    """Create or update every menu, set the guest menu as default, link everyone (idempotent)."""
    from bot.richmenu import deploy  # noqa: PLC0415 - Pillow drawing only when asked for

    services = _services(slug)
    try:
        report = deploy.deploy(services.store, services.line, services.config)
    except deploy.DeployError as error:
        click.echo(f"richmenu deploy failed: {error}", err=True)
        raise SystemExit(1) from None
    for line in report:
        click.echo(line)


@richmenu_group.command("status")
@MERCHANT_OPTION
def richmenu_status(slug: str | None):
    """What LINE serves now, menu by menu, against the layout."""
    from bot.line_api import LineApiError  # noqa: PLC0415
    from bot.richmenu import deploy  # noqa: PLC0415

    services = _services(slug)
    try:
        report = deploy.status(services.store, services.line, services.config)
    except LineApiError as error:
        click.echo(f"richmenu status failed: LINE said {error.said()}", err=True)
        raise SystemExit(1) from None
    for line in report:
        click.echo(line)

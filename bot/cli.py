"""`flask --app bot …` commands for operators."""

import click
from flask import Blueprint, current_app

from bot import demo_seed, points

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
def seed_demo():
    """Load the demo merchant (settings and branches); idempotent."""
    store = current_app.extensions["samachik"].store
    store.ensure_indexes()
    store.backfill()
    demo_seed.seed(store)
    click.echo("demo merchant ready")


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

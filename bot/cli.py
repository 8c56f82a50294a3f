"""`flask --app bot …` commands for operators."""

import click
from flask import Blueprint, current_app

from bot import demo_seed, points

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("init-db")
def init_db():
    """Create collections and indexes (safe to run again)."""
    store = current_app.extensions["samachik"].store
    created = store.ensure_indexes()
    click.echo(f"indexes ready ({len(created)} ensured) in database {store.db.name!r}")


@bp.cli.command("seed-demo")
def seed_demo():
    """Load the demo merchant (settings and branches); idempotent."""
    store = current_app.extensions["samachik"].store
    store.ensure_indexes()
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

"""``learnspace indexer`` (apply the outbox, continuously or once) and ``learnspace reindex``."""
from __future__ import annotations

import logging
import time

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..progress import ProgressBar
from .generations import ensure_index
from .writer import drain, rebuild

log = logging.getLogger(__name__)


@click.command("indexer")
@click.option("--once", is_flag=True, help="Apply what is pending and exit.")
@click.option("--interval", type=float, default=2.0, show_default=True,
              help="Seconds to wait when there is nothing to do.")
@with_appcontext
def indexer_command(once: bool, interval: float):
    """Keep this node's search index in step with the database (what each node's worker also does)."""
    ensure_index()
    while True:
        try:
            applied = drain()
        except Exception:  # a database or disk hiccup: log, keep the rows, try again
            log.exception("search indexer: drain failed; retrying")
            db.session.rollback()
            applied = 0
            if once:
                raise click.ClickException("索引更新失败，详见日志 / drain failed, see the log") from None
        finally:
            db.session.remove()
        if once:
            click.echo(f"search: {applied} changes applied")
            return
        if not applied:
            time.sleep(interval)


@click.command("reindex")
@click.option("--procs", type=int, default=None,
              help="Whoosh analysis processes (default 1; more uses Whoosh's multiprocessing writer).")
@with_appcontext
def reindex_command(procs: int | None):
    """Rebuild the whole search index from the database and swap it in atomically."""
    progress = ProgressBar("重建搜索索引", " 节课")

    try:
        count = rebuild(progress, procs=procs)
    finally:
        progress.close()
    click.echo(f"search: index rebuilt with {count} lessons")


@click.command("search-nodes")
@with_appcontext
def search_nodes_command():
    """List the app nodes' search replicas: cursor, last pass, last rebuild (this node's lag first)."""
    from .nodes import all_nodes, lag

    here = lag()
    click.echo(f"本节点 {here['node_id']}：落后 {here['rows_behind']} 条更改（{here['seconds_behind']} 秒）"
               + ("，需要重建索引" if here["rebuild_needed"] else ""))
    for node in all_nodes():
        state = "需要重建" if node["cursor"] is None else f"位置 {node['cursor']}"
        seen = node["seen_dt"].strftime("%Y-%m-%d %H:%M:%S UTC") if node["seen_dt"] else "-"
        click.echo(f"{node['node_id']}\t{state}\t最近一次更新 {seen}")
    db.session.remove()


def register(group) -> None:
    """Attach the search commands to the ``learnspace`` group."""
    group.add_command(indexer_command)
    group.add_command(reindex_command)
    group.add_command(search_nodes_command)

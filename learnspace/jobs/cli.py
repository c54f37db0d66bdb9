"""``learnspace worker``: run background jobs (and the periodic tasks, such as the search outbox drain)."""
from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from .registry import HANDLERS, PERIODIC
from .worker import Worker

log = logging.getLogger(__name__)


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the periodic tasks and the jobs due now, then exit.")
@click.option("--name", default=None, help="Worker name shown on the job page (default host:pid:random).")
@click.option("--poll", type=float, default=1.0, show_default=True,
              help="Seconds to wait when no job is due.")
@with_appcontext
def worker_command(once: bool, name: str | None, poll: float):
    """Run background jobs until SIGTERM or Ctrl-C (the job running then finishes first)."""
    # The app is built by the `learnspace` group (create_app), which imports every package that registers handlers.
    app = current_app._get_current_object()
    worker = Worker(app, name=name, poll_seconds=poll)
    if once:
        worker.run_periodic(force=True)
        ran = worker.run_due()
        click.echo(f"jobs: {ran} run")
        return
    stop = threading.Event()

    def request_stop(signum, _frame):
        if not stop.is_set():
            log.info("worker %s: %s received; stopping after the current job", worker.name,
                     signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job of a shell ignores Ctrl-C
        signal.signal(signal.SIGINT, request_stop)
    click.echo(f"worker {worker.name}: {len(HANDLERS)} job kinds ({', '.join(sorted(HANDLERS)) or 'none'}), "
               f"periodic: {', '.join(sorted(PERIODIC)) or 'none'}", err=True)
    worker.run(stop)


def register(group) -> None:
    """Attach ``worker`` to the ``learnspace`` group."""
    group.add_command(worker_command)

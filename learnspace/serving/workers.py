"""gunicorn's threaded worker, without the connection resets of its graceful stop (HUP reload, TERM)."""
from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker as _ThreadWorker


class ThreadWorker(_ThreadWorker):
    """gthread, but a stopping worker accepts no new connection.

    gunicorn 23's gthread keeps accepting after ``alive`` turns False (the listener is still in its poller
    for the rest of that loop turn) and then exits without reading them: the client gets "connection reset"
    (benoitc/gunicorn#3038, #3380; the fix of PR #3039, not merged). Left in the shared accept queue, such a
    connection is taken by the new worker instead.
    """

    def accept(self, server, listener):
        """Accept a connection only while this worker is serving."""
        if self.alive:
            super().accept(server, listener)

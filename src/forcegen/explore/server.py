"""Serving the explorer: a threaded WSGI server on a loopback address.

The address defaults to 127.0.0.1 (this machine only); another interface is used only
when asked for. The server runs until interrupted (Ctrl-C), or, in tests, until
:meth:`Running.stop`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from forcegen.explore.app import DEFAULT_RUNS, Explorer, create_app
from forcegen.explore.jobs import Simulations

__all__ = ["Running", "make_explorer", "start"]


def make_explorer(
    source: str,
    *,
    runs: int = DEFAULT_RUNS,
    seed: int = 0,
    store: Path | None = None,
    observed: Sequence[Any] = (),
    threads: int | None = None,
) -> tuple[Explorer, str]:
    """An :class:`Explorer` with ``source`` opened (its levers screened); returns it
    and the base id.

    Raises:
        ForcegenError: ``source`` cannot be opened.
    """
    explorer = Explorer(Simulations(runs=runs, seed=seed, threads=threads), store, observed)
    return explorer, explorer.open(source)


@dataclass
class Running:
    """A server running in a background thread."""

    server: BaseWSGIServer
    thread: threading.Thread
    explorer: Explorer

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://{self.server.host}:{self.server.port}/"

    def stop(self) -> None:
        """Stop serving and abandon the ensembles."""
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.explorer.sims.close()


def start(explorer: Explorer, base_id: str, *, host: str = "127.0.0.1", port: int = 0) -> Running:
    """Serve the explorer in a background thread (``port`` 0: any free port)."""
    app = create_app(explorer, base_id)
    server = make_server(host, port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="forcegen-explore", daemon=True)
    thread.start()
    return Running(server, thread, explorer)

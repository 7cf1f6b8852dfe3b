"""Small helpers for command output: JSON documents, a progress bar on stderr, and the one
line said when a command loses its database server."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def print_json(doc: Any) -> None:
    """Print one JSON document on stdout."""
    json.dump(doc, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def progress_bar(
    desc: str, unit: str = "rows"
) -> tuple[Callable[[int, int | None], None], Callable[[], None]]:
    """A ``progress(done, total)`` callback drawing a bar on stderr, and a ``close()``.

    Draws nothing when stderr is not a terminal (CI logs stay clean)."""
    if not sys.stderr.isatty():
        return (lambda done, total: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=f" {unit}", unit_scale=True, file=sys.stderr, leave=False)

    def update(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return update, bar.close


def server_error_line(exc: BaseException) -> str | None:
    """The one line for an error that means the PostgreSQL server was unreachable, went away
    or stopped answering (naming it as ``host:port``, never a password or driver text), or
    that an SQLite project's disk is full or failing (naming the file); None for any other
    error."""
    from labeler.store.faults import store_problem  # SQLAlchemy only when needed

    return store_problem(exc)

"""A parent process for the parser-orphan test: imports a file with the parser in a child
process and stops mid-import.

Usage: ``python tests/import_parent_driver.py PROJECT FILE``. Prints ``parser PID`` once the
first chunk is written, then waits (the parser fills its queue and blocks) until killed.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading

from labeler.data.importer import import_file
from labeler.store import Store


def main(project: str, path: str) -> int:
    store = Store.open(project)

    def on_progress(done: int, total: int | None) -> None:
        if done > 0:
            (parser,) = mp.active_children()
            print(f"parser {parser.pid}", flush=True)
            threading.Event().wait()  # until the test kills this process

    import_file(store, path, parse_in_process=True, chunk_rows=500, progress=on_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

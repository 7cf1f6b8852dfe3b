"""Parse and validate a large file in a separate process while this one writes to the store.

Parsing and validation are pure Python/pandas work that holds the GIL; in a thread they
would take turns with the database writes. In a child process the two run on two cores.
Chunks travel back pickled through a bounded queue (backpressure: at most two in flight).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from collections.abc import Iterator
from pathlib import Path

from labeler.data.parsing import ColumnMapping, ParseState
from labeler.data.payloads import Built
from labeler.errors import LabelerError
from labeler.orphan import exit_when_orphaned
from labeler.store.records import ProjectInfo

POLL_S = 0.5


def _child(
    info: ProjectInfo,
    path: Path,
    kind: str,
    mapping: ColumnMapping,
    chunk_rows: int,
    out: mp.Queue,
    parent: int,
    legacy_hashes: bool,
) -> None:
    exit_when_orphaned(parent)  # killed mid-import, it would wait forever on its full queue
    state = ParseState(info, path, kind, mapping, legacy_hashes)
    try:
        for first_row, n_rows, built in state.chunks(chunk_rows, None):
            out.put(("chunk", first_row, n_rows, built, state.mapping))
        out.put(("done", state.mapping))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        out.put(("error", exc))


class ProcessChunks:
    """Chunks like ``state.chunks``, parsed in a child process that starts at once (so its
    start-up overlaps with whatever the caller does before iterating). Sets ``state.mapping``.
    Iterate once; :meth:`close` stops the child (also when iteration never started)."""

    def __init__(self, state: ParseState, chunk_rows: int) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that may run threads (GUI, DB pool)
        self._state = state
        self._closed = False
        self._out: mp.Queue = ctx.Queue(maxsize=2)
        self._proc = ctx.Process(
            target=_child,
            args=(
                state.info,
                state.path,
                state.kind,
                state.user_mapping,
                chunk_rows,
                self._out,
                os.getpid(),
                state.legacy_hashes,
            ),
            name="labeler-import-parser",
            daemon=True,
        )
        self._proc.start()

    def __iter__(self) -> Iterator[tuple[int, int, Built]]:
        state, proc, out = self._state, self._proc, self._out
        try:
            while True:
                try:
                    msg = out.get(timeout=POLL_S)
                except queue.Empty:
                    if not proc.is_alive():
                        raise LabelerError(
                            f"{state.path}: the import's parser process stopped "
                            f"(exit code {proc.exitcode})"
                        ) from None
                    continue
                if msg[0] == "chunk":
                    state.mapping = msg[4]
                    yield msg[1], msg[2], msg[3]
                elif msg[0] == "done":
                    state.mapping = msg[1]
                    return
                else:
                    raise msg[1]
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._proc.is_alive():
            self._proc.terminate()  # a child process, not a thread: safe to stop
        self._proc.join(timeout=10)
        self._out.close()

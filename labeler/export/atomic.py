"""Write a file so that it appears under its final name complete or not at all.

The content goes to a temporary file in the same folder (same file system), is flushed and
fsync'ed, then ``os.replace``'d onto the final name, and the folder entry is fsync'ed. A crash
at any point leaves at most a ``.*.part`` file, never a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

PART_SUFFIX = ".part"


def temp_path_for(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}{PART_SUFFIX}")


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_path(final: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success move it onto ``final``.

    On any exception the temporary file is removed and ``final`` is untouched. With
    ``overwrite=False`` an existing ``final`` is never replaced (``FileExistsError``).
    """
    final = Path(final)
    tmp = temp_path_for(final)
    try:
        yield tmp
        fsync_file(tmp)
        if overwrite:
            os.replace(tmp, final)
        else:
            # link() fails if final exists: no window in which another file could be clobbered
            _link_or_replace(tmp, final)
        fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _link_or_replace(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final`` unless ``final`` exists (hard link where supported)."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system
        if final.exists():
            raise FileExistsError(str(final)) from None
        os.replace(tmp, final)
        return
    os.unlink(tmp)


def write_text_atomic(final: Path, text: str, *, overwrite: bool = False) -> None:
    with atomic_path(final, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")

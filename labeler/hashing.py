"""Content hashes of files (import batches, export snapshots, registry models)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path, block: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in blocks (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()

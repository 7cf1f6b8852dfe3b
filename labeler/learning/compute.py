"""Where a retrain's pool scoring runs: ``local`` (in the retrain process, the default),
``dask-local[:N]`` (a Dask cluster of N worker processes on this machine, started for the
retrain) or ``dask://HOST:PORT`` (an existing Dask scheduler).

Stored per project under ``settings["learning"]["compute"]``; ``labeler train --compute``
overrides it for one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labeler.errors import LabelerError

DEFAULT_COMPUTE = "local"
DEFAULT_LOCAL_WORKERS = 2
_DASK_LOCAL = re.compile(r"^dask-local(?::(\d+))?$")
_DASK_REMOTE = re.compile(r"^dask://([A-Za-z0-9.\-_\[\]:]+):(\d{1,5})$")


class ComputeError(LabelerError):
    """A bad compute setting, or a Dask cluster that failed the work (one line)."""


@dataclass(frozen=True)
class Compute:
    """A parsed compute setting."""

    kind: str  # "local" | "dask-local" | "dask"
    workers: int = 0  # dask-local: worker processes
    address: str = ""  # dask: tcp://HOST:PORT

    @property
    def uses_dask(self) -> bool:
        return self.kind != "local"

    def __str__(self) -> str:
        if self.kind == "dask-local":
            return f"dask-local:{self.workers}"
        if self.kind == "dask":
            return "dask://" + self.address.removeprefix("tcp://")
        return "local"


def parse_compute(value: str | None) -> Compute:
    """``local`` | ``dask-local[:N]`` | ``dask://HOST:PORT``; a one-line error otherwise."""
    text = (value or DEFAULT_COMPUTE).strip()
    if text == "local":
        return Compute("local")
    local = _DASK_LOCAL.match(text)
    if local:
        workers = int(local.group(1) or DEFAULT_LOCAL_WORKERS)
        if not 1 <= workers <= 256:
            raise ComputeError(f"compute {text!r}: the number of workers must be 1 to 256")
        return Compute("dask-local", workers=workers)
    remote = _DASK_REMOTE.match(text)
    if remote:
        host, port = remote.group(1), int(remote.group(2))
        if not 0 < port < 65536:
            raise ComputeError(f"compute {text!r}: port must be 1 to 65535")
        return Compute("dask", address=f"tcp://{host}:{port}")
    raise ComputeError(f"compute {text!r} is not one of local, dask-local[:N], dask://HOST:PORT")

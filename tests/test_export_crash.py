"""A process killed in the middle of an export leaves no file under the final name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from _review_data import labeled_project

from labeler.export import export_dataset
from labeler.store.export_queries import snapshots

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys
    from labeler.export import export_dataset
    from labeler.store import Store, ProjectLocation

    location = ProjectLocation.from_json(json.loads(sys.argv[1]))
    fmt, out = sys.argv[2], sys.argv[3]

    def progress(done, total):
        if done > 0:  # a chunk is written to the temporary file: tell the parent, then hang
            print("chunk", done, flush=True)
            sys.stdin.readline()

    with Store.open(location) as store:
        export_dataset(store, fmt, out, chunk_size=5, progress=progress)
    print("finished", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl", "label-studio"])
def test_sigkill_mid_export_leaves_no_partial_file(make_store, tmp_path, fmt):
    store = make_store()
    labeled_project(store, n=40)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    out = out_dir / f"data.{fmt}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(store.location.to_json()), fmt, str(out)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("chunk"), line
        parts = [p for p in out_dir.iterdir() if p.name.endswith(".part")]
        assert len(parts) == 1 and parts[0].stat().st_size > 0  # killed mid-write
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not out.exists()
    assert not Path(str(out) + ".manifest.json").exists()
    assert snapshots(store) == []

    # the leftover temporary file does not get in the way of the next export
    result = export_dataset(store, fmt, out)
    assert result.manifest["rows"] == 40 and out.exists()
    if fmt == "parquet":
        assert len(pd.read_parquet(out)) == 40

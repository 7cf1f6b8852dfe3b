"""Helper processes (the import's parser, the review statistics worker) end when the
application that started them is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labeler.store import Store
from tests.helpers import process_gone

DRIVER = Path(__file__).with_name("import_parent_driver.py")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_parser_process_exits_when_its_parent_is_killed(tmp_path):
    Store.create(tmp_path / "proj", modality="tabular", labels=["a", "b"]).close()
    data = tmp_path / "rows.csv"
    data.write_text("id,x,y\n" + "".join(f"r{i},{i},{i % 7}\n" for i in range(20_000)))
    root = Path(__file__).resolve().parents[1]
    driver = subprocess.Popen(
        [sys.executable, str(DRIVER), str(tmp_path / "proj"), str(data)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        line = driver.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("parser "), line
        parser = int(line.split()[1])
        assert not process_gone(parser)  # blocked on its full queue, waiting for the writer
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        deadline = time.monotonic() + 60
        while not process_gone(parser) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process_gone(parser), "the parser process outlived the killed importer"
    finally:
        if driver.poll() is None:
            driver.kill()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_review_statistics_worker_exits_when_its_parent_is_killed():
    root = Path(__file__).resolve().parents[1]
    driver = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("stats_parent_driver.py"))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        line = driver.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("worker "), line
        worker = int(line.split()[1])
        assert not process_gone(worker)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        deadline = time.monotonic() + 60
        while not process_gone(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process_gone(worker), "the statistics worker outlived the killed application"
    finally:
        if driver.poll() is None:
            driver.kill()

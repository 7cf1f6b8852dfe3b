"""Helper processes (the import's parser, the review statistics worker) end when the
application that started them is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from labeler.store import Store
from tests.helpers import process_gone, wait_until_gone

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
ROOT = Path(__file__).resolve().parents[1]


def _kill_parent_and_wait(driver_args: list[str], announces: str) -> list[int]:
    """Run a driver script that prints ``<announces> PID`` of its helper process, SIGKILL the
    driver, and return the helper's pid once it is gone (fails if it lives on for a minute)."""
    driver = subprocess.Popen(
        [sys.executable, *driver_args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = driver.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith(f"{announces} "), line
        helpers = [int(pid) for pid in line.split()[1:]]
        assert helpers and not any(process_gone(pid) for pid in helpers)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        alive = wait_until_gone(helpers, 60)
        assert not alive, f"the {announces} process outlived the killed application"
        return helpers
    finally:
        if driver.poll() is None:
            driver.kill()


def test_parser_process_exits_when_its_parent_is_killed(tmp_path):
    Store.create(tmp_path / "proj", modality="tabular", labels=["a", "b"]).close()
    data = tmp_path / "rows.csv"
    data.write_text("id,x,y\n" + "".join(f"r{i},{i},{i % 7}\n" for i in range(20_000)))
    # the driver stops in its first progress callback: the parser fills its queue and blocks
    driver = Path(__file__).with_name("import_parent_driver.py")
    _kill_parent_and_wait([str(driver), str(tmp_path / "proj"), str(data)], "parser")


def test_review_statistics_worker_exits_when_its_parent_is_killed():
    driver = Path(__file__).with_name("stats_parent_driver.py")
    _kill_parent_and_wait([str(driver)], "worker")


@pytest.mark.slow
def test_dask_local_workers_exit_when_the_retrain_process_is_killed():
    """Closing the app kills its retrain worker; the Dask workers it started go with it."""
    driver = Path(__file__).with_name("dask_parent_driver.py")
    _kill_parent_and_wait([str(driver)], "workers")

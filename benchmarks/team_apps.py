"""Annotator processes for ``benchmarks/team_load.py`` and what they and the store report
afterwards: labels, commit latency, and the counts that must be 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "benchmarks" / "team_driver.py"


# -- running annotators -----------------------------------------------------------------------


class Annotator:
    """One driver process and the events it has printed so far."""

    def __init__(self, project: str, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self.stopped_idle = False
        self.log = Path(env["LABELER_CACHE_DIR"]) / f"{Path(project).name}-{name}.stderr"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVER), project, name, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
            env=env,
            cwd=ROOT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                continue

    def of(self, ev: str) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["ev"] == ev]

    def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
            except OSError:
                pass

    def wait(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)


def start_team(
    project: str, n: int, labels: int, pace: str, truth: Path, env: dict[str, str]
) -> list[Annotator]:
    return [
        Annotator(
            project,
            f"ann{i}",
            ["--truth", str(truth), "--labels", str(labels), "--pace-ms", pace, "--seed", str(i)],
            env,
        )
        for i in range(n)
    ]


# -- what the store says afterwards -----------------------------------------------------------


def store_facts(project: str, env: dict[str, str]) -> dict[str, Any]:
    """Label events, model runs and versions, read from the store once the team is done."""
    import sqlalchemy as sa

    old = {k: os.environ.get(k) for k in ("PGPASSFILE",)}
    os.environ.update({k: env[k] for k in old if k in env})
    try:
        from labeler.store import Store
        from labeler.store import schema as t

        with Store.open(project) as store, store.read() as conn:
            pid = store.project_id
            ev = t.label_event
            events = conn.execute(
                sa.select(ev.c.id, ev.c.sample_id, ev.c.action, ev.c.annotator).where(
                    ev.c.project_id == pid
                )
            ).all()
            mr = t.model_run
            runs = conn.execute(
                sa.select(mr.c.model_version, mr.c.status, mr.c.artifact, mr.c.error).where(
                    mr.c.project_id == pid
                )
            ).all()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    ok_runs = [r for r in runs if r.status == "ok"]
    versions = Counter(r.model_version for r in ok_runs)
    artifacts = Counter(r.artifact for r in ok_runs if r.artifact)
    twice: dict[int, list[str]] = {}
    for r in events:
        if r.action == "label":
            twice.setdefault(r.sample_id, []).append(r.annotator)
    twice = {sid: names for sid, names in twice.items() if len(names) > 1}
    return {
        "labeled_twice_by": {
            "the_same_app_user": sum(1 for n in twice.values() if len(set(n)) == 1),
            "two_annotators": sum(1 for n in twice.values() if len(set(n)) > 1),
        },
        "label_events": {(r.id, r.sample_id) for r in events if r.action == "label"},
        "labels_per_sample": Counter(r.sample_id for r in events if r.action == "label"),
        "runs_ok": len(ok_runs),
        "runs_failed": [r.error for r in runs if r.status != "ok"],
        "duplicate_versions": sum(1 for n in versions.values() if n > 1)
        + sum(1 for n in artifacts.values() if n > 1),
    }


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def on_screen(a: Annotator) -> list[tuple[int, float, float]]:
    """(sample, from, to): each sample's time on this app's screen (until the next screen)."""
    spans = []
    marks = [e for e in a.events if e["ev"] in ("shown", "none", "closing")]
    for e, nxt in zip(marks, [*marks[1:], None], strict=True):
        if e["ev"] == "shown":
            spans.append((e["sid"], e["t"], nxt["t"] if nxt else float("inf")))
    return spans


def double_served(team: list[Annotator]) -> int:
    """Samples handed to two apps: on two screens at once, or shown to one app after another
    had labeled it. (A sample an app showed and gave back unlabeled when it closed may then
    go to a colleague: that is not a double serve.)"""
    spans: dict[int, list[tuple[float, float, str]]] = {}
    labeled_at: dict[int, list[tuple[float, str]]] = {}
    for a in team:
        for sid, t0, t1 in on_screen(a):
            spans.setdefault(sid, []).append((t0, t1, a.name))
        for e in a.of("saved"):
            labeled_at.setdefault(e["sid"], []).append((e["t"], a.name))
    bad = 0
    for sid, intervals in spans.items():
        intervals.sort()
        overlap = any(
            b[0] < a[1] and a[2] != b[2] for a, b in zip(intervals, intervals[1:], strict=False)
        )
        after_label = any(
            t0 > t_saved and name != by
            for t0, _t1, name in intervals
            for t_saved, by in labeled_at.get(sid, [])
        )
        bad += overlap or after_label
    return bad


def summarise(team: list[Annotator], facts: dict[str, Any]) -> dict[str, Any]:
    saved = [e for a in team for e in a.of("saved")]
    nones = [e for a in team for e in a.of("none")]
    retrains = [e for a in team for e in a.of("retrain")]
    times = [e["t"] for e in saved]
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    acked = {(e["eid"], e["sid"]) for e in saved}
    return {
        "annotators": len(team),
        "labels": len(saved),
        "labels_per_app": [len(a.of("saved")) for a in team],
        "labels_per_s": round(len(saved) / span, 2) if span else None,
        "seconds": round(span, 1),
        "commit_ms_p50": pct([e["ms"] for e in saved], 0.50),
        "commit_ms_p99": pct([e["ms"] for e in saved], 0.99),
        "retrains_finished": sum(1 for e in retrains if e["ok"]),
        "retrains_deferred_to_a_colleague": sum(1 for e in retrains if e["deferred"]),
        "model_runs_ok": facts["runs_ok"],
        "failures_shown": sum(len(a.of("failure")) for a in team),
        "must_be_zero": {
            "double_served": double_served(team),
            "labeled_twice": sum(1 for n in facts["labels_per_sample"].values() if n > 1),
            "false_nothing_left": sum(1 for e in nones if e["free"] != 0),
            "failed_retrains": sum(1 for e in retrains if not e["ok"] and not e["deferred"])
            + len(facts["runs_failed"]),
            "duplicate_model_versions": facts["duplicate_versions"],
            "acknowledged_labels_missing": len(acked - facts["label_events"]),
        },
        "labeled_twice_by": facts["labeled_twice_by"],
        "shown_twice_to_one_app": sum(
            sum(1 for n in Counter(e["sid"] for e in a.of("shown")).values() if n > 1) for a in team
        ),
        "retrain_errors": sorted(
            {e["error"] for e in retrains if e.get("error")}
            | set(filter(None, facts["runs_failed"]))
        )[:5],
        "exit_codes": [a.proc.returncode for a in team],
        "apps_stopped_stuck": sum(a.stopped_idle for a in team),
        "seconds_to_first_sample": [
            round(a.of("shown")[0]["t"] - a.started, 1) if a.of("shown") else None for a in team
        ],
    }

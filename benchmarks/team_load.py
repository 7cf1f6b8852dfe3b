"""Team load: several annotator processes, each driving the app's real annotation controller
(``benchmarks/team_driver.py``) with in-app background retraining on, on one project.

Load mode (default), three runs in one go:

* ``pg_human``: N annotators (default 8) on one PostgreSQL project at a human pace;
* ``pg_flat``: the same, flat out (each label given as soon as the next sample is shown);
* ``sqlite_flat``: 4 annotators flat out on one SQLite project folder.

PostgreSQL is the embedded server (``labeler.store.server``, started here in a temporary
folder, with a SCRAM role made by ``add-user`` and its password in a temporary libpq
passfile, as a team lead would set it up), or ``--url`` to use another server.

Each run reports labels per second, commit latency (label() to committed) p50/p99, and
counts that must all be 0: samples double-served (shown by two apps), samples labeled twice,
false "nothing left" screens (the screen said so while samples were free for that
annotator), failed retrains, duplicate model versions, acknowledged labels missing from the
store.

Fault mode (``--faults``): 3 annotators at a brisk pace on the embedded server, which is
restarted, stopped for 15 s, and has its backends terminated, one after the other. For each
fault: the outage, the time from the server being back until every annotator has saved a
label again (``recovery_s``; null with ``stuck`` annotators when one never did within the
window), failures shown, "nothing left" screens, and the same must-be-0 counts for the run.

    python benchmarks/team_load.py [--annotators 8] [--labels 100] [--human-labels 40]
                                   [--samples 3000] [--url URL] [--faults] [--only RUN,...]

Writes ``benchmarks/results/team_load.json`` (``team_load_faults.json`` with ``--faults``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
DRIVER = ROOT / "benchmarks" / "team_driver.py"
IDLE_S = 120  # an app showing nothing new this long is stuck; it is stopped and counted


# -- project set-up ---------------------------------------------------------------------------


def make_rows(n: int, work: Path) -> tuple[Path, dict[str, str]]:
    """``n`` rows of the api_summaries text set as CSV (id, text) and the true labels
    (built once per machine and size: parsing the libraries' sources takes a while)."""
    import pandas as pd

    from benchmarks.bench_data import api_summaries, library_versions

    key = hashlib.sha1(json.dumps([n, library_versions()]).encode()).hexdigest()[:10]
    cached = Path(tempfile.gettempdir()) / f"labeler-team-load-rows-{key}.csv"
    if cached.exists():
        frame = pd.read_csv(cached, dtype=str, keep_default_na=False)
    else:
        frame = api_summaries().sample(frac=1.0, random_state=0).head(n).reset_index(drop=True)
        frame["id"] = [f"s{i}" for i in range(len(frame))]
        frame[["id", "text", "label"]].to_csv(cached, index=False)
    path = work / "rows.csv"
    frame[["id", "text"]].to_csv(path, index=False)
    return path, dict(zip(frame["id"], frame["label"], strict=True))


def labeler(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "labeler", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"labeler {' '.join(args)}: {done.stderr.strip()}")


def make_project(
    name: str, work: Path, rows: Path, env: dict[str, str], database: str | None
) -> str:
    folder = work / name
    labels = ",".join(sorted(set(json.loads((work / "truth.json").read_text()).values())))
    init = [
        "init",
        str(folder),
        "--modality",
        "text",
        "--labels",
        labels,
        "--text-features",
        "tfidf",
    ]
    labeler(*init, *(["--database", database] if database else []), env=env)
    labeler("import", str(folder), str(rows), "--text-column", "text", "--id-column", "id", env=env)
    return str(folder)


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


def run_load(
    label: str, project: str, n: int, labels: int, pace: str, work: Path, env: dict[str, str]
) -> dict[str, Any]:
    print(f"{label}: {n} annotators x {labels} labels, pace {pace} ms", file=sys.stderr)
    team = start_team(project, n, labels, pace, work / "truth.json", env)
    # until every app has given its labels; one that has shown nothing new for IDLE_S (stuck
    # on an empty screen) is asked to stop, and the run reports what it did
    while any(a.proc.poll() is None for a in team):
        time.sleep(1)
        for a in team:
            screens = [e["t"] for e in list(a.events) if e["ev"] in ("shown", "none", "saved")]
            if a.proc.poll() is None and screens and time.time() - screens[-1] > IDLE_S:
                a.stopped_idle = True
                a.stop()
    for a in team:
        a.wait(120)
    result = {"pace_ms": pace, **summarise(team, store_facts(project, env))}
    print(f"  {json.dumps(result)}", file=sys.stderr)
    return result


# -- faults -----------------------------------------------------------------------------------


def terminate_backends(st: Any) -> int:
    from labeler.store.server_roles import _admin

    with _admin(st) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (st.database,),
        ).fetchall()
    return len(rows)


def run_faults(
    project: str, folder: Path, work: Path, env: dict[str, str], window: float, observe: float
) -> dict[str, Any]:
    from labeler.store import server

    team = start_team(project, 3, 100_000, "300,600", work / "truth.json", env)
    wait_for(lambda: all(a.of("saved") for a in team), 120)
    time.sleep(10)  # steady state
    faults: dict[str, Any] = {}

    def measure(name: str, inject: Any) -> None:
        before = {a.name: (len(a.of("failure")), len(a.of("none"))) for a in team}
        began = time.time()
        detail = inject()
        back = time.time()
        wait_for(lambda: all(any(e["t"] > back for e in a.of("saved")) for a in team), window)
        firsts = [min((e["t"] for e in a.of("saved") if e["t"] > back), default=None) for a in team]
        recovered = [f - back for f in firsts if f is not None]
        # then keep watching long enough to use up a prefetch: an app whose refill failed
        # during the fault runs dry later and shows "nothing left"
        time.sleep(observe)
        end = time.time()
        faults[name] = {
            "outage_s": round(back - began, 2),
            "recovery_s": round(max(recovered), 2) if len(recovered) == len(team) else None,
            "recovery_s_per_annotator": [round(r, 2) for r in recovered],
            "stuck_at_end": sum(
                1 for a in team if not any(e["t"] > end - 10 for e in a.of("saved"))
            ),
            "labels_in_the_observation": sum(
                1 for a in team for e in a.of("saved") if back < e["t"] <= end
            ),
            "failures_shown": sum(len(a.of("failure")) - before[a.name][0] for a in team),
            "nothing_left_screens": sum(len(a.of("none")) - before[a.name][1] for a in team),
            **({"detail": detail} if detail else {}),
        }
        print(f"  {name}: {json.dumps(faults[name])}", file=sys.stderr)

    def restart() -> None:
        server.stop(folder)
        server.start(folder)

    def stop_15s() -> None:
        server.stop(folder)
        time.sleep(15)
        server.start(folder)

    measure("restart", restart)
    measure("stop_15s", stop_15s)
    measure("terminate_backends", lambda: {"terminated": terminate_backends(server.status(folder))})
    for a in team:
        a.stop()
    for a in team:
        a.wait(120)
    run = summarise(team, store_facts(project, env))
    return {"faults": faults, "run": run}


def wait_for(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return False


# -- main -------------------------------------------------------------------------------------


def embedded_server(work: Path, env: dict[str, str]) -> tuple[Any, str, Path]:
    """Start the embedded server as a team lead would, with one role for the team's apps."""
    from labeler.store import server
    from labeler.store.passfile import strip_password
    from labeler.store.server_roles import add_user

    folder = Path(tempfile.mkdtemp(prefix="labeler-team-load-")) / "srv"
    st, _notes = server.start(folder, port=server.free_port())
    password = add_user(st, "team")
    os.environ["PGPASSFILE"] = env["PGPASSFILE"]
    url = strip_password(st.url("team").replace("team@", f"team:{password}@", 1))
    return st, url, folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--annotators", type=int, default=8)
    ap.add_argument("--labels", type=int, default=100, help="per annotator, flat-out runs")
    ap.add_argument("--human-labels", type=int, default=40, help="per annotator, human pace")
    ap.add_argument("--human-pace-ms", default="1000,2000")
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--url", help="a PostgreSQL URL to use instead of the embedded server")
    ap.add_argument("--faults", action="store_true", help="the fault-injection mode")
    ap.add_argument("--window", type=float, default=90, help="fault mode: seconds to recover")
    ap.add_argument(
        "--observe", type=float, default=30, help="fault mode: seconds watched after recovery"
    )
    ap.add_argument("--only", help="load mode: comma-separated runs (pg_human,pg_flat,sqlite_flat)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="labeler-team-load-work-"))
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        PGPASSFILE=str(work / "pgpass"),
        LABELER_CONFIG_DIR=str(work / "config"),
        LABELER_CACHE_DIR=str(work / "cache"),
    )
    rows, truth = make_rows(args.samples, work)
    (work / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    st = folder = None
    if args.url and args.faults:
        raise SystemExit("--faults needs the embedded server (it restarts and stops it)")
    if args.url:
        database = args.url
    else:
        st, database, folder = embedded_server(work, env)
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "samples": args.samples,
        "server": "embedded" if st else "url",
    }
    try:
        if args.faults:
            assert folder is not None
            project = make_project("faults", work, rows, env, database)
            out["mode"] = "faults"
            out.update(run_faults(project, folder, work, env, args.window, args.observe))
            name = "team_load_faults.json"
        else:
            only = set((args.only or "pg_human,pg_flat,sqlite_flat").split(","))
            out["mode"] = "load"
            runs: dict[str, Any] = {}
            n = args.annotators
            if "pg_human" in only:
                project = make_project("pg-human", work, rows, env, database)
                runs["pg_human"] = run_load(
                    "pg_human", project, n, args.human_labels, args.human_pace_ms, work, env
                )
            if "pg_flat" in only:
                project = make_project("pg-flat", work, rows, env, database)
                runs["pg_flat"] = run_load("pg_flat", project, n, args.labels, "0,0", work, env)
            if "sqlite_flat" in only:
                project = make_project("sqlite-flat", work, rows, env, None)
                runs["sqlite_flat"] = run_load(
                    "sqlite_flat", project, 4, args.labels, "0,0", work, env
                )
            out["runs"] = runs
            name = f"team_load-{'-'.join(sorted(only))}.json" if args.only else "team_load.json"
    finally:
        if folder is not None:
            from labeler.store import server

            server.remove(folder)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

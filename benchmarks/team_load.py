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
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
IDLE_S = 120  # an app showing nothing new this long is stuck; it is stopped and counted


from benchmarks.team_apps import start_team, store_facts, summarise  # noqa: E402

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

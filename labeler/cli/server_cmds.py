"""``labeler server start|stop|status|add-user``: an embedded PostgreSQL for a team lead.

The server runs on after ``start`` returns; ``stop`` shuts it down cleanly. Every command
takes ``--dir`` (default: a per-user data folder). Exit status: 0 on success, 2 on an error
(one line), and ``status`` exits 3 when the server is stopped (as ``pg_ctl status`` does).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from labeler.cli.output import print_json
from labeler.store import server

EXIT_STOPPED = 3


def register(sub: Any) -> None:
    p = sub.add_parser("server", help="host team projects on an embedded PostgreSQL server")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--dir", metavar="D", help=f"the server's folder (default {server.default_folder()})"
        )
        q.add_argument("--json", action="store_true", help="print one JSON document")

    q = actions.add_parser("start", help="start the server (made on first start)")
    common(q)
    q.add_argument(
        "--listen",
        metavar="ADDR",
        help="addresses to accept annotators on: localhost (default), an address of this "
        "machine, several comma-separated, or '*' for all",
    )
    q.add_argument(
        "--port", metavar="P", type=int, help=f"TCP port (default {server.DEFAULT_PORT})"
    )
    q.set_defaults(func=cmd_start)

    q = actions.add_parser("stop", help="stop the server cleanly")
    common(q)
    q.set_defaults(func=cmd_stop)

    q = actions.add_parser("status", help="is it running, and where annotators connect")
    common(q)
    q.set_defaults(func=cmd_status)

    q = actions.add_parser(
        "add-user", help="make a login for an annotator and print its password once"
    )
    q.add_argument("name", help="the annotator's user name (lower case)")
    common(q)
    q.add_argument("--reset", action="store_true", help="give an existing user a new password")
    q.set_defaults(func=cmd_add_user)


def _folder(args: argparse.Namespace) -> Path:
    return Path(args.dir).expanduser() if args.dir else server.default_folder()


def _describe(st: server.ServerStatus) -> str:
    if not st.running:
        return f"stopped (data in {st.folder})"
    return (
        f"running on {st.listen} port {st.port} (pid {st.pid}); "
        f"annotators connect to {st.url()}; data in {st.folder}"
    )


def cmd_start(args: argparse.Namespace) -> int:
    st, notes = server.start(_folder(args), listen=args.listen, port=args.port)
    if args.json:
        print_json({**st.to_json(), "notes": notes})
        return 0
    for note in notes:
        print(f"labeler: {note}", file=sys.stderr)
    print(_describe(st))
    print("next: 'labeler server add-user NAME' for each annotator (and for yourself)")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    before = server.status(_folder(args))
    st = server.stop(before.folder)
    if args.json:
        print_json({**st.to_json(), "was_running": before.running})
    else:
        print("stopped" if before.running else "was not running", f"(data in {st.folder})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    st = server.status(_folder(args))
    if args.json:
        print_json(st.to_json())
    else:
        print(_describe(st))
    return 0 if st.running else EXIT_STOPPED


def cmd_add_user(args: argparse.Namespace) -> int:
    from labeler.store.server_roles import add_user

    st = server.status(_folder(args))
    password = add_user(st, args.name, reset=args.reset)
    url = st.url(args.name).replace(f"{args.name}@", f"{args.name}:{password}@", 1)
    if args.json:
        print_json({"user": args.name, "password": password, "url": url})
        return 0
    print(f"user {args.name}: password {password} (shown once; stored nowhere on this machine)")
    print(f"give {args.name} this URL; Labeler moves the password into their libpq password file:")
    print(f"  {url}")
    return 0

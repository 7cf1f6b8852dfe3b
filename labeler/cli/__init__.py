"""Command line: parses arguments and calls the core. ``labeler --help`` lists the commands.

Each command module exposes ``register(subparsers)``, which adds its sub-commands and sets
``func`` (a callable taking the parsed namespace and returning an exit status). Errors that
are the user's (``LabelerError``) print one line and exit 2, and so does losing the database
server (unreachable, gone or frozen: one line naming it, see
:func:`labeler.cli.output.server_error_line`); anything else prints one line, saves the
traceback to a log file and exits 70. A user never sees a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from labeler import __version__
from labeler.errors import LabelerError

# Modules that add sub-commands, in help order.
COMMAND_MODULES = (
    "labeler.cli.project_cmds",
    "labeler.cli.gui_cmds",
    "labeler.cli.engine_cmds",
    "labeler.cli.export_cmds",
    "labeler.cli.predict_cmds",
    "labeler.cli.backup_cmds",
    "labeler.cli.server_cmds",
)

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 70


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labeler", description="Label data with an active-learning loop.")
    parser.add_argument("--version", action="version", version=f"labeler {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def one_line(text: str) -> str:
    """Collapse a (driver) message onto one line."""
    return " ".join(text.split())


def error_log_path() -> Path:
    base = os.environ.get("LABELER_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "labeler"
    return root / "last-error.log"


class _WarningsToStderr(logging.Handler):
    """The core's warnings (``log.warning``) as one ``labeler: ...`` line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"labeler: {one_line(record.getMessage())}", file=sys.stderr)


def _show_core_warnings() -> None:
    core = logging.getLogger("labeler")
    if not any(isinstance(h, _WarningsToStderr) for h in core.handlers):
        core.addHandler(_WarningsToStderr(logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # frozen builds: a spawned engine worker starts here
    _show_core_warnings()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        try:
            from labeler.cli.gui_cmds import run_gui  # the GUI, when installed
        except ImportError:
            parser.print_help()
            return 0
        return run_gui(None)
    try:
        return int(func(args) or 0)
    except LabelerError as exc:
        print(f"labeler: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # e.g. `labeler info P | head`: the reader went away
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("labeler: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, details in a log
        from labeler.cli.output import server_error_line

        problem = server_error_line(exc)
        if problem is not None:
            print(f"labeler: error: {problem}", file=sys.stderr)
            return EXIT_USER_ERROR
        log = error_log_path()
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc(), encoding="utf-8")
            where = f" (details in {log})"
        except OSError:
            where = ""
        print(
            f"labeler: internal error: {type(exc).__name__}: {one_line(str(exc))}{where}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


def gui_main() -> int:
    """Entry point of the windowed launcher (no console on Windows)."""
    return main(sys.argv[1:])

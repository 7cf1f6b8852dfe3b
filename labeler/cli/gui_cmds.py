"""GUI commands: ``labeler open PROJECT [--review]``; plain ``labeler`` opens the start screen.

Qt is imported only when a window is actually opened, so the rest of the CLI works (and is
tested) without a display.
"""

from __future__ import annotations

import argparse
from typing import Any

from labeler.errors import LabelerError


def register(sub: Any) -> None:
    p = sub.add_parser("open", help="open the desktop app on a project")
    p.add_argument("project", help="project folder (or URL#name)")
    p.add_argument("--review", action="store_true", help="start in the review view")
    p.add_argument(
        "--screenshot", metavar="PNG", help="save a screenshot once the first sample shows, exit"
    )
    p.set_defaults(func=cmd_open)


def cmd_open(args: argparse.Namespace) -> int:
    from labeler.store import resolve
    from labeler.store.passfile import strip_password

    project = strip_password(args.project)  # a URL's password goes to the passfile, once
    resolve(project)  # a one-line error before any window opens
    return run_gui(project, screenshot=args.screenshot, review=args.review)


def run_gui(project: str | None, *, screenshot: str | None = None, review: bool = False) -> int:
    """Run the desktop app; with ``screenshot``, save the window once the first sample shows."""
    try:
        from labeler.gui.app import run
    except ImportError as exc:  # PySide6 missing or no usable Qt platform libraries
        raise LabelerError(f"the desktop app cannot start: {exc}") from None
    return run(project, screenshot=screenshot, review=review)

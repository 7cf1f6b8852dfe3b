"""Check an installed Linux desktop entry (packaging/install.sh): the keys the freedesktop.org
Desktop Entry spec requires, an Exec that is an executable file, and an Icon found in the
prefix's hicolor theme as a readable SVG. Uses ``desktop-file-validate`` too when installed.

    python packaging/check_desktop.py PREFIX
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def check(prefix: Path) -> list[str]:
    problems: list[str] = []
    entry = prefix / "share" / "applications" / "labeler.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    if not parser.read(entry, encoding="utf-8"):
        return [f"{entry}: missing"]
    if "Desktop Entry" not in parser:
        return [f"{entry}: no [Desktop Entry] group"]
    d = parser["Desktop Entry"]
    for key, want in (("Type", "Application"), ("Name", "Labeler"), ("Terminal", "false")):
        if d.get(key) != want:
            problems.append(f"{entry}: {key}={d.get(key)!r}, expected {want!r}")
    exe = Path(d.get("Exec", "").split()[0]) if d.get("Exec") else None
    if exe is None or not exe.is_file() or not os.access(exe, os.X_OK):
        problems.append(f"{entry}: Exec {d.get('Exec')!r} is not an executable file")
    icon = prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / f"{d.get('Icon')}.svg"
    try:
        root = ET.parse(icon).getroot()
        if not root.tag.endswith("svg"):
            problems.append(f"{icon}: not an SVG")
    except (OSError, ET.ParseError) as exc:
        problems.append(f"{icon}: icon not readable ({exc})")
    validator = shutil.which("desktop-file-validate")
    if validator:
        run = subprocess.run([validator, str(entry)], capture_output=True, text=True)
        if run.returncode != 0:
            problems.append(f"desktop-file-validate: {run.stdout.strip() or run.stderr.strip()}")
    return problems


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    prefix = Path(sys.argv[1])
    problems = check(prefix)
    for p in problems:
        print(f"desktop entry: {p}", file=sys.stderr)
    if not problems:
        print(f"desktop entry ok: {prefix / 'share/applications/labeler.desktop'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

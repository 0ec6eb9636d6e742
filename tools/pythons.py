"""Print the oldest and the newest Python interpreter on this machine that the package supports.

CI runs the test suite on both (besides the default ``python3``). It looks where this machine
keeps Pythons: pyenv's builds (``~/.pyenv/versions``) and Debian's or local ``python3.X``
binaries. Interpreters older than ``requires-python`` and the one running this script (already
tested) are left out; nothing is printed for a version that is missing.
"""
from __future__ import annotations

import glob
import os
import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def candidates() -> list[str]:
    home = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = glob.glob(os.path.join(home, "versions", "*", "bin", "python3"))
    for folder in ("/usr/bin", "/usr/local/bin"):
        found += [p for p in glob.glob(os.path.join(folder, "python3.*")) if re.fullmatch(r"python3\.\d+", os.path.basename(p))]
    return sorted(set(found))


def version(python: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([python, "-c", "import platform, venv; print(platform.python_version())"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return tuple(int(k) for k in text.split(".")[:3]) if out.returncode == 0 and text else None


def main() -> int:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    minimum = tuple(int(k) for k in re.search(r">=\s*([\d.]+)", spec).group(1).split("."))
    current = tuple(int(k) for k in platform.python_version().split("."))
    usable = {}
    for python in candidates():
        v = version(python)
        if v is not None and v[:2] >= minimum[:2] and v[:2] != current[:2]:
            usable.setdefault(v[:2], (v, python))
    if not usable:
        return 0
    chosen = {min(usable), max(usable)}
    for key in sorted(chosen):
        print(usable[key][1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prepare the machine for `make test`: Debian's chromium for the browser tests.

Runs `apt-get update` and `apt-get install -y chromium` only when /usr/bin/chromium is missing and
we are root. Never fails: the browser tests skip with a clear reason if chromium is still absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def _run(command: list[str]) -> bool:
    print("testsetup: $", " ".join(command), flush=True)
    try:
        result = subprocess.run(
            command, check=False, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"testsetup: {command[0]} failed: {exc}", flush=True)
        return False
    if result.returncode != 0:
        print(f"testsetup: {' '.join(command)} exited with {result.returncode}", flush=True)
    return result.returncode == 0


def main() -> int:
    if CHROMIUM.exists():
        print(f"testsetup: {CHROMIUM} is present; nothing to do.", flush=True)
        return 0
    if os.geteuid() != 0:
        print(
            f"testsetup: {CHROMIUM} is missing and we are not root; browser tests will be skipped.",
            flush=True,
        )
        return 0
    if shutil.which("apt-get") is None:
        print("testsetup: no apt-get on this machine; browser tests will be skipped.", flush=True)
        return 0
    print("testsetup: installing Debian's chromium for the browser tests ...", flush=True)
    if _run(["apt-get", "update"]) and _run(["apt-get", "install", "-y", "chromium"]):
        print(f"testsetup: chromium installed at {CHROMIUM}.", flush=True)
    else:
        print("testsetup: could not install chromium; browser tests will be skipped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

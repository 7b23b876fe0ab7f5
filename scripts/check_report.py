"""Open an rnncast HTML report in headless Chromium and check that every image loaded.

    python scripts/check_report.py report.html [--screenshot page.png] [--chromium PATH]

The report marks ``<html data-images-loaded="k/n">`` once the page has loaded; Chromium dumps
the DOM after the load and this script reads that mark. Exit 0 when k == n > 0, else 1.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def find_chromium(given: str | None = None) -> str | None:
    """The Chromium binary: ``given``, else the first on PATH."""
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def images_loaded(report: Path, chromium: str, timeout: float = 60) -> tuple[int, int]:
    """``(loaded, total)`` images of ``report`` as Chromium rendered it."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
             "--dump-dom", report.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False)
    mark = re.search(r'data-images-loaded="(\d+)/(\d+)"', done.stdout)
    if not mark:
        raise RuntimeError(f"Chromium did not render the page (exit {done.returncode}): "
                           f"{done.stderr.strip().splitlines()[-1:] or 'no message'}")
    return int(mark.group(1)), int(mark.group(2))


def screenshot(report: Path, chromium: str, out: Path, size: str = "1100,1700") -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
                        f"--screenshot={out.resolve()}", report.resolve().as_uri()],
                       capture_output=True, timeout=60, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the page")
    parser.add_argument("--chromium", help="path to the browser (default: found on PATH)")
    args = parser.parse_args()
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("check_report: no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 1
    loaded, total = images_loaded(args.report, chromium)
    print(f"{args.report}: {loaded} of {total} images loaded in {Path(chromium).name}")
    if args.screenshot:
        screenshot(args.report, chromium, args.screenshot)
        print(f"wrote {args.screenshot}")
    return 0 if total > 0 and loaded == total else 1


if __name__ == "__main__":
    sys.exit(main())

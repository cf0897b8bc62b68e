#!/usr/bin/env python3
"""Open a report.html in headless Chromium: screenshot it, fail on console errors or broken images.

Usage: python scripts/check_report.py RUN/07-report/report.html [--screenshot OUT.png]

Two browser runs, each with a fresh profile and no network features:
1. the report as it is, with console logging on: any console message (a script
   error, a blocked resource, a CSP violation) is a failure; a full-page screenshot;
2. a copy of the report with a small checker script appended (and its no-script
   content policy removed): it counts images that decoded (naturalWidth > 0) and
   writes the count into the DOM, which ``--dump-dom`` prints.
Exit 0 when all is well; 1 with the reasons otherwise; 3 when Chromium is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--hide-scrollbars", "--virtual-time-budget=5000"]
CHECKER = """<script>window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var p = document.createElement('p'); p.id = 'corpusfit-image-check';
  p.textContent = 'IMAGES ' + ok + '/' + imgs.length; document.body.appendChild(p);
});</script>"""
CONSOLE = re.compile(r":CONSOLE[:(]")


def find_chromium() -> str | None:
    """The first Chromium-like browser on PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


def _browser(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="corpusfit-chromium-") as profile:
        return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


def check_report(html_path: Path, screenshot: Path, chromium: str,
                 width: int = 1200, height: int = 4000, timeout: float = 120) -> dict:
    """Render ``html_path``; returns console messages, image counts and the screenshot path."""
    html_path = html_path.resolve()
    screenshot = screenshot.resolve()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = _browser(chromium, ["--enable-logging=stderr", "--v=0",
                               f"--window-size={width},{height}",
                               f"--screenshot={screenshot}", html_path.as_uri()], timeout)
    console = [line.strip() for line in shot.stderr.splitlines() if CONSOLE.search(line)]
    with tempfile.TemporaryDirectory(prefix="corpusfit-check-") as tmp:
        probe = Path(tmp) / "probe.html"
        text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "",
                      html_path.read_text(encoding="utf-8"))
        probe.write_text(text.replace("</body>", CHECKER + "</body>"), encoding="utf-8")
        dom = _browser(chromium, ["--dump-dom", probe.as_uri()], timeout).stdout
    found = re.search(r"IMAGES (\d+)/(\d+)", dom)
    ok, total = (int(found.group(1)), int(found.group(2))) if found else (0, -1)
    return {"screenshot": str(screenshot), "screenshot_bytes": screenshot.stat().st_size
            if screenshot.exists() else 0, "console": console, "images_ok": ok,
            "images_total": total, "returncode": shot.returncode}


def problems(result: dict, min_images: int = 1) -> list[str]:
    """Human-readable reasons the check failed (empty when it passed)."""
    out = [f"console: {m}" for m in result["console"]]
    if result["screenshot_bytes"] < 1000:
        out.append("no screenshot was written")
    if result["images_total"] < 0:
        out.append("the image checker did not run (page failed to load?)")
    elif result["images_ok"] != result["images_total"]:
        out.append(f"only {result['images_ok']} of {result['images_total']} images decoded")
    elif result["images_total"] < min_images:
        out.append(f"expected at least {min_images} plots, found {result['images_total']}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("html", type=Path)
    p.add_argument("--screenshot", type=Path, default=None,
                   help="PNG to write (default: next to the report)")
    p.add_argument("--min-images", type=int, default=1)
    args = p.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 3
    shot = args.screenshot or args.html.with_name(args.html.stem + "-screenshot.png")
    result = check_report(args.html, shot, chromium)
    print(json.dumps(result, indent=2))
    bad = problems(result, args.min_images)
    for reason in bad:
        print(f"FAIL: {reason}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall time and peak memory of the Gradescope autograder on one notebook, run as Gradescope runs it.

Builds the zip (`attn-grade export gradescope`), unpacks it into a stand-in /autograder, puts the instructor
notebook in submission/, runs run_autograder as root (this project's .venv python standing in for setup.sh's) and
samples, every 50 ms, the resident memory summed over every process of the run (the grader, the sandboxed
interpreter under its own uid, its children): what Gradescope's container memory limit counts.

    .venv/bin/python benchmarks/gradescope_run.py --assignment masked_attention --no-bwrap
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from autograder.export.gradescope_zip import build_autograder_zip

ROOT = Path(__file__).resolve().parents[1]


def tree_rss_kb(marker: str) -> int:
    """Resident memory (kB) summed over every process whose environment carries `marker`."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                total += int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                                  if line.startswith("VmRSS:")))
        except (OSError, StopIteration):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="masked_attention")
    parser.add_argument("--no-bwrap", action="store_true", help="hide bubblewrap, as in Gradescope's containers")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gradescope-root-"))
    zipfile.ZipFile(build_autograder_zip(args.assignment, root / "autograder.zip")).extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    shutil.copy(ROOT / "source" / args.assignment / f"{args.assignment}.ipynb", root / "submission")
    (root / "tmp").mkdir()
    for path in (root, root / "tmp"):  # the sandbox's uid passes through to its directory in tmp/
        path.chmod(0o711)
    env = dict(os.environ, ATTN_GRADESCOPE_ROOT=str(root), ATTN_GRADESCOPE_PYTHON=sys.executable,
               TMPDIR=str(root / "tmp"))
    if args.no_bwrap:
        env["PATH"] = "/nonexistent"
    started, peak = time.monotonic(), 0
    run = subprocess.Popen(["/bin/bash", str(root / "run_autograder")], cwd=root, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while run.poll() is None:  # the sandbox's environment is its own, marked ATTN_SANDBOX=<its dir in tmp/>
        peak = max(peak, tree_rss_kb(f"ATTN_GRADESCOPE_ROOT={root}") + tree_rss_kb(f"ATTN_SANDBOX={root}/tmp"))
        time.sleep(0.05)
    wall = time.monotonic() - started
    print(f"{args.assignment}: {wall:.1f} s wall, peak memory {peak / 1024:.0f} MB (RSS summed), "
          f"exit {run.returncode}, {(root / 'results' / 'results.json').stat().st_size} bytes of results.json")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

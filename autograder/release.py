"""Generate `release/` from `source/` with nbgrader, which also registers each assignment in the gradebook.

The self-check cell of every notebook is `autograder/client.py` itself (standard library only, so it runs where
nothing of this project is installed); `--server URL` writes the class server's address into the released cells.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from assignments import ASSIGNMENT_IDS
from autograder import client
from autograder.files import PROJECT
from autograder.submission import SELF_CHECK_ID

SELF_CHECK_HEADER = ("# 自查：评分磁盘上保存的笔记本（班级服务器，或本机安装的评分引擎），结果显示在下面。\n"
                     "# Self-check: grades the notebook as saved (on the class server, or with the engine installed\n"
                     "# here) and shows the result below. This is autograder/client.py, copied in by `make release`.\n")
SELF_CHECK_CALL = ('\nif not os.environ.get("NBGRADER_EXECUTION"):  # nbgrader 评分时跳过 / skipped while nbgrader grades\n'
                   "    self_check()\n")
SERVER_LINE = 'SERVER = ""'


def self_check_source(server: str = "") -> str:
    """The self-check cell's code: the client module, with the class server's address when one is given."""
    code = Path(client.__file__).read_text(encoding="utf-8")
    assert code.count(SERVER_LINE) == 1, f"autograder/client.py must hold the line {SERVER_LINE!r} once"
    return SELF_CHECK_HEADER + code.replace(SERVER_LINE, f"SERVER = {json.dumps(server)}") + SELF_CHECK_CALL


def generate_release(course_dir: Path = PROJECT, assignments=ASSIGNMENT_IDS, server: str = "") -> list[Path]:
    """Refresh each source notebook's self-check cell from client.py, run `nbgrader generate_assignment` for each
    assignment in `course_dir` (which also adds it to the course's gradebook.db), then write `server` into the
    released self-check cells; return the released notebooks."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    released = []
    for assignment in assignments:
        update_self_check(course_dir / "source" / assignment / f"{assignment}.ipynb", self_check_source())
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", assignment,
                        "--force", "--log-level=WARN"], cwd=course_dir, env=env, check=True)
        released.append(course_dir / "release" / assignment / f"{assignment}.ipynb")
        if server:
            update_self_check(released[-1], self_check_source(server))
    return released


def update_self_check(notebook: Path, source: str) -> None:
    """Give the notebook's self-check cell this source, collapsed (and its nbgrader checksum, once released)."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == SELF_CHECK_ID)
    hidden = cell.metadata.get("jupyter", {}).get("source_hidden")
    if cell.source == source and hidden:
        return
    cell.source = source
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    if "checksum" in cell.metadata.nbgrader:
        from nbgrader.utils import compute_checksum
        cell.metadata.nbgrader.checksum = compute_checksum(cell)
    nbformat.write(nb, notebook)


def copy_course(target: Path) -> Path:
    """A scratch course directory holding this repo's nbgrader_config.py and source/ (for tests and benchmarks)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "nbgrader_config.py", target / "nbgrader_config.py")
    shutil.copytree(PROJECT / "source", target / "source", dirs_exist_ok=True)
    return target


def main(argv: list[str] | None = None) -> None:
    """`python -m autograder.release [--server URL]` (what `make release [SERVER=URL]` runs)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.release", description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="", help="the class server's address (http:// or https://), "
                                                     "written into the released self-check cells")
    server = parser.parse_args(argv).server.rstrip("/")
    if server and not server.startswith(("http://", "https://")):
        parser.error(f"--server {server!r}: give the address with http:// or https://")
    for path in generate_release(server=server):
        print(f"released {path.relative_to(PROJECT)}" + (f" (self-check sends to {server})" if server else ""))


if __name__ == "__main__":
    main()

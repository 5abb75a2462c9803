"""Generate `release/` from `source/` with nbgrader, which also registers each assignment in the gradebook."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from assignments import ASSIGNMENT_IDS
from autograder.files import PROJECT


def generate_release(course_dir: Path = PROJECT, assignments=ASSIGNMENT_IDS) -> list[Path]:
    """Run `nbgrader generate_assignment` for each assignment in `course_dir`, which also adds it to the course's
    gradebook.db; return the released notebooks."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    released = []
    for assignment in assignments:
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", assignment,
                        "--force", "--log-level=WARN"], cwd=course_dir, env=env, check=True)
        released.append(course_dir / "release" / assignment / f"{assignment}.ipynb")
    return released


def copy_course(target: Path) -> Path:
    """A scratch course directory holding this repo's nbgrader_config.py and source/ (for tests and benchmarks)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "nbgrader_config.py", target / "nbgrader_config.py")
    shutil.copytree(PROJECT / "source", target / "source", dirs_exist_ok=True)
    return target


if __name__ == "__main__":
    for path in generate_release():
        print(f"released {path.relative_to(PROJECT)}")

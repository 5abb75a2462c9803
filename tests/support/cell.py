"""The released self-check cell run as a student runs it: in a bare interpreter with nothing of this project."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat

from support.notebooks import release_notebook, source_notebook

BARE = [getattr(sys, "_base_executable", sys.executable), "-I", "-S"]
"""The Python under .venv with no site-packages, no PYTHON* variables and not the working directory on sys.path."""


def released_cell(assignment: str) -> str:
    """The self-check cell's source, as the committed release notebook of `assignment` has it."""
    nb = nbformat.read(release_notebook(assignment), as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "self_check")


def student_folder(tmp_path, assignment: str, notebook=None):
    """A folder holding one notebook, as a student's: the instructor's (full marks) unless another is given."""
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(notebook or source_notebook(assignment), folder / f"{assignment}.ipynb")
    return folder


def run_bare(code: str, folder, **env) -> subprocess.CompletedProcess:
    """Run `code` in the bare interpreter in `folder`, with HOME there and only the variables given."""
    return subprocess.run([*BARE, "-c", code], cwd=folder, capture_output=True, text=True, timeout=600,
                          env={"PATH": os.environ["PATH"], "HOME": str(folder), "LANG": "C.UTF-8", **env})

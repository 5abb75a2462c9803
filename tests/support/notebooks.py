"""Scenario notebooks for tests: the instructor and release notebooks, and submissions built from them."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def source_notebook(assignment: str) -> Path:
    """The instructor notebook of an assignment."""
    return ROOT / "source" / assignment / f"{assignment}.ipynb"


def release_notebook(assignment: str) -> Path:
    """The committed student notebook of an assignment."""
    return ROOT / "release" / assignment / f"{assignment}.ipynb"


def make_submission(base: Path, out: Path, replace: dict[str, str] | None = None,
                    append: list[str] | None = None, drop: tuple[str, ...] = (),
                    rename: dict[str, str] | None = None) -> Path:
    """Write a submission built from `base`: cells whose nbgrader grade_id is in `replace` get new source,
    cells in `drop` are deleted, cells in `rename` get a new grade_id, and `append` code cells are inserted
    after the first code cell."""
    nb = nbformat.read(base, as_version=4)
    replace = dict(replace or {})
    cells = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in drop:
            continue
        if grade_id in replace:
            cell.source = replace.pop(grade_id)
        if grade_id in (rename or {}):
            cell.metadata.nbgrader["grade_id"] = rename[grade_id]
        cells.append(cell)
    assert not replace, f"no cells with grade_id {sorted(replace)} in {base}"
    first_code = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    for offset, source in enumerate(append or []):
        cells.insert(first_code + 1 + offset, nbformat.v4.new_code_cell(source))
    nb.cells = cells
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def blank_answers(assignment: str) -> dict[str, str]:
    """Every solution code cell of the instructor notebook with its solution replaced by
    `raise NotImplementedError()`, as nbgrader releases it (grade_id → source)."""
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: re.sub(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION",
                                                       r"\1raise NotImplementedError()", c.source, flags=re.S)
            for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}

"""A submitted notebook: read and validate it, pick the cells to run, infer its assignment."""
from __future__ import annotations

import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

# jsonschema (under nbformat) builds an RFC 3987 parser at import when rfc3987_syntax is installed: 3 s of CPU for an
# IRI format that no notebook schema uses, so it is left out.
sys.modules.setdefault("rfc3987_syntax", None)
import nbformat  # noqa: E402

from assignments import ASSIGNMENT_IDS, questions_of  # noqa: E402
from autograder.submission.ipython import to_python  # noqa: E402

MAX_NOTEBOOK_BYTES = 50 * 2**20
SELF_CHECK_ID = "self_check"
"""The grade_id of the notebook's self-check cell, which runs the grader from Jupyter and is never graded."""
SELF_CHECK_MARKS = ("def self_check(", "ATTN_GRADE_SERVER")
"""Text of the released self-check cell (autograder/client.py): it marks the cell when its nbgrader metadata is gone."""
MIN_NAMES = 2
"""Without grade ids, a notebook is taken as the assignment whose question names (its functions and quiz variables)
its text mentions, at least this many of them and more than twice as many as any other assignment's."""
BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe\x00\x00": "utf-32", b"\x00\x00\xfe\xff": "utf-32",
        b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
"""Byte-order marks that editors on Windows put before a notebook's JSON (longest first where they overlap)."""


@dataclass
class Cell:
    """A code cell to run: its index in the notebook and its source (plain Python, see ipython.py)."""

    index: int
    source: str
    given: bool = False
    """A cell of the notebook's own that the student does not edit (nbgrader: locked, not a solution): what it binds
    runs on, but the graders see the student's own value of a global it rebinds (nbgrader grades before it runs)."""


class SubmissionError(Exception):
    """A notebook that cannot be graded at all: missing, unreadable or not a notebook, of an unknown assignment.

    Its text is one line: the file, then why in Chinese and English ("a.ipynb: 中文 / English"); `kind` is the
    first item of its REASONS entry, `zh` and `en` the reason alone."""

    def __init__(self, reason: str, path: Path | str | None = None, **values):
        self.kind, zh, en = REASONS[reason]
        self.zh, self.en = zh.format(**values), en.format(**values)
        super().__init__(f"{path}: {self.zh} / {self.en}" if path is not None else f"{self.zh} / {self.en}")


REASONS = {  # reason: (kind, 中文, English)
    "unknown-assignment": ("unknown-assignment", "没有叫 {assignment!r} 的作业（有：{known}）",
                           "unknown assignment {assignment!r} (known: {known})"),
    "missing": ("missing", "找不到这个笔记本", "no such notebook"),
    "too-large": ("too-large", "大于 {mb} MB，不评分", "larger than {mb} MB, not graded"),
    "unreadable": ("unreadable", "读不了这个文件（{error}）", "cannot be read ({error})"),
    "empty": ("invalid-json", "文件是空的，不是笔记本", "the file is empty, not a notebook"),
    "not-text": ("invalid-json", "不是 UTF-8 文本，不是笔记本（请在 Jupyter 里保存后再交）",
                 "not UTF-8 text, not a notebook (save it from Jupyter and submit it again)"),
    "not-json": ("invalid-json", "不是可读的笔记本（JSON 第 {line} 行第 {column} 列：{error}）",
                 "not a readable notebook (JSON, line {line} column {column}: {error})"),
    "too-deep": ("invalid-json", "不是可读的笔记本（JSON 嵌套太深）", "not a readable notebook (JSON nested too deep)"),
    "no-cells": ("not-a-notebook", "不是 Jupyter 笔记本（没有 cells 列表）",
                 "not a valid notebook (no list of cells)"),
    "not-a-notebook": ("not-a-notebook", "不是有效的 Jupyter 笔记本（{error}）",
                       "not a valid notebook ({error})"),
    "which-assignment": ("which-assignment", "看不出这是哪一份作业，请用 --assignment 指明",
                         "cannot tell which assignment this is; pass --assignment"),
}
"""Why a notebook cannot be graded. The kinds: unknown-assignment, missing, too-large, unreadable, invalid-json (not
JSON text), not-a-notebook (JSON, but not a notebook) and which-assignment."""


@dataclass
class Submission:
    """The parts of a notebook that grading needs."""

    path: Path
    notebook: nbformat.NotebookNode
    assignment: str

    @cached_property
    def cells(self) -> list[Cell]:
        """Every code cell except nbgrader grade (test) cells and the self-check cell, in order, with its notebook
        index; IPython syntax translated to plain Python (see ipython.py)."""
        return [Cell(i, to_python(_source(c)), _is_given(c)) for i, c in enumerate(self.notebook.cells)
                if c.get("cell_type") == "code" and not _is_test_cell(c) and not _is_self_check(c)]


def load_submission(path: str | Path, assignment: str | None = None) -> Submission:
    """Read and validate a notebook; infer its assignment unless given.

    Any notebook format a front end saves is read: nbformat 4.0–4.5 and 3 (converted), a UTF-8/16/32 byte-order
    mark, CRLF line ends, anything after the notebook's JSON (ignored), cells without ids or metadata.

    Raises:
        SubmissionError: with a one-line reason, for a missing, unreadable or invalid notebook, or an unknown
            assignment.
    """
    path = Path(path)
    if assignment is not None and assignment not in ASSIGNMENT_IDS:
        raise SubmissionError("unknown-assignment", assignment=assignment, known=", ".join(ASSIGNMENT_IDS))
    if not path.is_file():
        raise SubmissionError("missing", path)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError("too-large", path, mb=MAX_NOTEBOOK_BYTES // 2**20)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError("unreadable", path, error=exc.strerror) from None
    notebook = _notebook(_json(_text(data, path), path), path)
    return Submission(path, notebook, assignment or infer_assignment(path, notebook))


def infer_assignment(path: Path, notebook: nbformat.NotebookNode) -> str:
    """The assignment id from the file's name (or its folder's), else from what the notebook contains: its nbgrader
    grade ids, else the question names its text mentions. When the name says one assignment and the contents
    clearly another (none of the named one's), the contents win: the notebook is graded as what it is."""
    named, (found, evidence) = _named(path), _contents(notebook)
    if named and not _clearly_other(found, evidence, named):
        return named
    if found:
        return found
    raise SubmissionError("which-assignment", path)


def other_assignment(notebook: nbformat.NotebookNode, assignment: str) -> str | None:
    """The assignment the notebook's contents clearly show when that is not `assignment` and nothing of
    `assignment`'s is in it (its grade ids, else the question names its text mentions); None otherwise."""
    found, evidence = _contents(notebook)
    return found if _clearly_other(found, evidence, assignment) else None


def _clearly_other(found: str | None, evidence: dict[str, int], assignment: str) -> bool:
    return bool(found) and found != assignment and evidence[assignment] == 0


def _named(path: Path) -> str | None:
    """The assignment the file name or its folder's name says: exactly, else the one id it contains
    ("Copy of bert_heads", "bert_heads (1)", "bert_heads-checkpoint", "bert_heads 副本", "hw_bert_heads_张三")."""
    names = [path.stem, path.parent.name]
    for name in names:
        if name in ASSIGNMENT_IDS:
            return name
    for name in names:
        plain = re.sub(r"[\s\-.]+", "_", unicodedata.normalize("NFKC", name).lower())
        inside = [a for a in ASSIGNMENT_IDS if a in plain]
        if len(inside) == 1:
            return inside[0]
    return None


def _contents(notebook: nbformat.NotebookNode) -> tuple[str | None, dict[str, int]]:
    """(the assignment the notebook's contents show, or None; per assignment, how many of its question ids the
    grade ids hold — or, with no grade ids of any, how many its text names)."""
    grade_ids = {_grade_id(c) for c in notebook.cells}
    evidence = {a: len(grade_ids & set(questions_of(a))) for a in ASSIGNMENT_IDS}
    if not any(evidence.values()):
        words = set(re.findall(r"\w+", "\n".join(_source(c) for c in notebook.cells)))
        evidence = {a: len(words & set(questions_of(a))) for a in ASSIGNMENT_IDS}
        best, second = sorted(evidence.values(), reverse=True)[:2]
        if best < MIN_NAMES or best <= 2 * second:
            return None, evidence
    best = max(ASSIGNMENT_IDS, key=evidence.get)
    tied = [a for a in ASSIGNMENT_IDS if evidence[a] == evidence[best]]
    return (best if evidence[best] and len(tied) == 1 else None), evidence


def _text(data: bytes, path: Path) -> str:
    if not data.strip():
        raise SubmissionError("empty", path)
    encoding = next((name for bom, name in BOMS.items() if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise SubmissionError("not-text", path) from None


def _json(text: str, path: Path):
    """The first JSON value in `text`; whatever follows it (a second copy, stray bytes) is ignored."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        raise SubmissionError("not-json", path, line=exc.lineno, column=exc.colno, error=exc.msg) from None
    except RecursionError:
        raise SubmissionError("too-deep", path) from None
    return value


def _notebook(value, path: Path) -> nbformat.NotebookNode:
    """The JSON as a version-4 notebook (older versions converted), cells that are not objects left out."""
    if not isinstance(value, dict) or not isinstance(value.get("cells", value.get("worksheets")), list):
        raise SubmissionError("no-cells", path)
    if not isinstance(value.get("nbformat"), int):
        value = {**value, "nbformat": 4, "nbformat_minor": 0}  # cells and nothing else: read as version 4
    try:
        notebook = nbformat.convert(nbformat.from_dict(value), 4)
    except Exception as exc:  # nbformat raises several unrelated types for malformed documents
        raise SubmissionError("not-a-notebook", path, error=type(exc).__name__) from None
    if not isinstance(notebook.get("cells"), list):
        raise SubmissionError("no-cells", path)
    notebook.cells = [c for c in notebook.cells if isinstance(c, dict)]
    return notebook


def _source(cell) -> str:
    """The cell's source as one string with "\\n" line ends (a list of lines, or one string as VS Code saves it)."""
    source = cell.get("source", "")
    source = "".join(str(s) for s in source) if isinstance(source, list) else str(source or "")
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _nbgrader(cell) -> dict:
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str | None:
    grade_id = _nbgrader(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _is_test_cell(cell) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def _is_given(cell) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("locked")) and not meta.get("solution")


def _is_self_check(cell) -> bool:
    """The released self-check cell, by its grade id or, when the metadata is gone, by its text."""
    return _grade_id(cell) == SELF_CHECK_ID or all(mark in _source(cell) for mark in SELF_CHECK_MARKS)

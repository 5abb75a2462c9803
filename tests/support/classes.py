"""A scratch nbgrader course with a class of submissions (right, blank, partial, wrong, hostile), shared by tests."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat

from autograder import classroom
from autograder.release import copy_course, generate_release
from autograder.sandbox.session import Limits
from support.notebooks import ROOT

ID = "attention_by_hand"
LIMITS = Limits(cell_timeout=10, call_timeout=10)
"""Short timeouts so the hostile submission's infinite loop costs seconds; nbgrader gets the same ones."""

SDPA_MISSING_SCALE = '''def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    weights = torch.softmax(scores, dim=-1)
    return weights @ V, weights
'''
SDPA_WRONG_DIM = SDPA_MISSING_SCALE.replace("K.transpose(-2, -1)", "K.transpose(-2, -1) / math.sqrt(Q.size(-1))") \
    .replace("dim=-1", "dim=-2")
SDPA_FORBIDDEN = '''def scaled_dot_product_attention(Q, K, V, mask=None):
    weights = torch.softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.size(-1)), dim=-1)
    return F.scaled_dot_product_attention(Q, K, V, attn_mask=None if mask is None else mask.bool()), weights
'''
CLASS = {
    "01-right": {},
    "02-blank": None,
    "03-partial": {"answer_scaled_dot_product_attention": SDPA_MISSING_SCALE,
                   "answer_quiz_row_sum": 'quiz_row_sum = "B"',
                   "answer_love_weights": "love_weights = [s / 18.6 for s in [2.1, 3.5, 7.2, 5.8]]  # s / sum(s)"},
    "04-forbidden": {"answer_scaled_dot_product_attention": SDPA_FORBIDDEN},
    "05-hostile": {"answer_love_weights": "while True:\n    pass",
                   "answer_ex1_weights": 'import sys\nprint("0", file=sys.stderr)\n'
                                         'ex1_weights = open("/etc/hostname").read()',
                   "answer_quiz_library": f"quiz_library = open({str(ROOT / 'assignments' / 'quiz.py')!r}).read()"},
    "06-syntax-error": {"answer_ex1_scores": "ex1_scores = [[0.7071, 0.3536],"},
    "07-wrong": {"answer_ex1_scores": "ex1_scores = [[0.7071, 0.0], [0.3536, 0.3536]]",
                 "answer_quiz_why_scale": 'quiz_why_scale = "A"', "answer_quiz_seed_softmax": 'quiz_seed_softmax = "A"',
                 "answer_scaled_dot_product_attention": SDPA_WRONG_DIM},
}
"""Student → answers: {} = the instructor's solutions, None = the released notebook as is, else the solutions
with these answer cells (by grade_id) replaced."""


def course(base: Path) -> Path:
    """A course directory (this repo's config with LIMITS + source/ + a fresh release/), built once per `base`."""
    home = base / "course"
    if not (home / "release" / ID / f"{ID}.ipynb").exists():
        copy_course(home)
        with open(home / "nbgrader_config.py", "a", encoding="utf-8") as config:
            config.write(f"\nc.GradeInSandbox.cell_timeout = {LIMITS.cell_timeout}\n"
                         f"c.GradeInSandbox.call_timeout = {LIMITS.call_timeout}\n")
        generate_release(home, [ID])
    return home


def build_class(base: Path, students=tuple(CLASS)) -> Path:
    """`course(base)/submitted/<student>/attention_by_hand/attention_by_hand.ipynb` for these students."""
    home = course(base)
    for student in students:
        notebook = home / "submitted" / student / ID / f"{ID}.ipynb"
        if not notebook.exists():
            notebook.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(answered(home, CLASS[student]), notebook)
    return home / "submitted"


def answered(home: Path, answers: dict[str, str] | None) -> nbformat.NotebookNode:
    """The released notebook; unless `answers` is None, with every solution cell answered (by the instructor's
    solution, or by `answers[grade_id]`)."""
    release = home / "release" / ID / f"{ID}.ipynb"
    if answers is None:
        return nbformat.read(release, as_version=4)
    return classroom.answered(release, home / "source" / ID / f"{ID}.ipynb", answers)


def copy_students(submitted: Path, target: Path, students) -> Path:
    """A new submitted/ directory holding copies of these students' folders."""
    for student in students:
        shutil.copytree(submitted / student, target / student)
    return target


def tree_digest(root: Path) -> str:
    """One hash of every path, mode and byte under `root`: equal before and after means nothing was touched."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + oct(path.stat().st_mode).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ledger_students(out: Path) -> list[str]:
    """The `student` of every line of out/results.jsonl, in file order."""
    return [json.loads(line)["student"] for line in (out / "results.jsonl").read_text().splitlines()]


def verdicts(results) -> dict:
    """Student → per-question (score, status, mistakes) and the total: what must not depend on the executor."""
    return {r.student: (r.score, [(q.id, q.score, q.status, q.mistakes) for q in r.questions]) for r in results}


def class_base(tmp_path_factory) -> Path:
    """The session's one scratch course folder, shared by test_batch, test_dask and test_nbgrader_lifecycle."""
    return tmp_path_factory.getbasetemp() / "attn-class"


def graded_class(tmp_path_factory):
    """(submitted/, the BatchSummary of `grade` with local processes): graded on first use, reused after."""
    from autograder.batch import grade
    base = class_base(tmp_path_factory)
    submitted = build_class(base)
    return submitted, grade(submitted, assignment=ID, out=base / "out-local", workers=2, limits=LIMITS)

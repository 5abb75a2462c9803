"""Is a notebook read the same however the student's front end saved it, its assignment told from its name or its
contents, its IPython syntax turned into Python that runs as in a kernel, and an unreadable file refused in one
bilingual line?"""
from __future__ import annotations

import re

import nbformat
import pytest

from autograder.submission import SubmissionError, load_submission
from autograder.submission.ipython import to_python
from support import saved

A = "masked_attention"
BILINGUAL = re.compile(r"^[^\n]*: [^\n]*[\u4e00-\u9fff][^\n]* / [a-z][^\n]*$")
"""One line: the file, the reason in Chinese, " / ", the reason in English."""


@pytest.fixture(scope="module")
def nb():
    return saved.filled(A)


@pytest.fixture(scope="module")
def plain(nb, tmp_path_factory):
    """The cells to run of the notebook as nbformat writes it (source, given)."""
    cells = load_submission(saved.save(tmp_path_factory.mktemp("plain") / f"{A}.ipynb", nb)).cells
    return [(c.source, c.given) for c in cells]


SAVED_AS = {  # form: (file name, notebook → what is saved, save()'s options)
    "JupyterLab 4 (4.5, ids, outputs)": (f"{A}.ipynb", saved.jupyterlab, {}),
    "Notebook 6 (4.4)": (f"{A}.ipynb", saved.classic, {}),
    "nbformat 4.0": (f"{A}.ipynb", lambda nb: saved.minor(nb, 0), {}),
    "nbformat 4.2": (f"{A}.ipynb", lambda nb: saved.minor(nb, 2), {}),
    "nbformat 3": (f"{A}.ipynb", saved.version3, {}),
    "VS Code (one string per source)": (f"{A}.ipynb", saved.vscode, {}),
    "nbstripout": (f"{A}.ipynb", saved.nbstripout, {}),
    "UTF-8 byte-order mark": (f"{A}.ipynb", lambda nb: nb, {"bom": b"\xef\xbb\xbf"}),
    "CRLF line ends": (f"{A}.ipynb", lambda nb: nb, {"crlf": True}),
    "bytes after the JSON": (f"{A}.ipynb", lambda nb: nb, {"after": b"\n}\n\x00\x00"}),
    "UTF-16 (PowerShell)": (f"{A}.ipynb", lambda nb: nb, {"bom": b"\xff\xfe", "encoding": "utf-16-le"}),
    "Copy of": (f"Copy of {A}.ipynb", lambda nb: nb, {}),
    "a Chinese file name": ("张三的作业（二）.ipynb", lambda nb: nb, {}),
}


@pytest.mark.parametrize("form", SAVED_AS)
def test_every_saved_form_runs_the_same_cells(nb, plain, tmp_path, form):
    """Is the notebook saved this way read as its assignment, with the same cells to run as the plain one, the same
    of them given (the notebook's own read-only cells)?"""
    name, convert, options = SAVED_AS[form]
    submission = load_submission(saved.save(tmp_path / name, convert(nb), **options))
    assert submission.assignment == A
    assert [(c.source, c.given) for c in submission.cells] == plain


def test_given_cells_are_the_locked_cells_that_are_not_answers(nb, tmp_path):
    """Are the imports and demo cells given (nbgrader: locked, no solution), the answers and the student's own new
    cells not, and, with the metadata stripped (Colab), no cell given?"""
    nb = saved.inserted(nb, "answer_causal_mask", "scratch = 1")
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    submission = load_submission(saved.save(tmp_path / "given" / f"{A}.ipynb", nb))
    given = {ids[c.index] for c in submission.cells if c.given}
    assert given == {"imports", "demo_tril", "demo_causal_mask", "demo_before_after", "demo_heatmap",
                     "demo_padding_broadcast", "demo_empty_row", "demo_float16"}
    assert not any(c.given for c in submission.cells if ids[c.index] is None)  # the scratch cell
    stripped = load_submission(saved.save(tmp_path / "stripped" / f"{A}.ipynb", saved.without_metadata(nb)))
    assert stripped.cells and not any(c.given for c in stripped.cells)


NAMED = ["Copy of masked_attention.ipynb", "masked_attention (1).ipynb", "masked_attention（1）.ipynb",
         "masked_attention 副本.ipynb", "masked_attention - 副本.ipynb", ".ipynb_checkpoints/masked_attention-checkpoint.ipynb",
         "hw2_Masked-Attention_张三.ipynb", "C:\\Users\\张三\\masked_attention.ipynb"]


@pytest.mark.parametrize("name", NAMED)
def test_a_renamed_notebook_without_metadata_is_told_by_its_name(nb, tmp_path, name):
    """Colab or a copy into a new notebook dropped every grade id: does the file's name still say which it is?"""
    blank = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert load_submission(saved.save(tmp_path / name, blank)).assignment == A


@pytest.mark.parametrize("assignment", ["attention_by_hand", A, "bert_heads"])
def test_a_notebook_without_metadata_or_name_is_told_by_its_contents(tmp_path, assignment):
    """Cells re-created in `Untitled1.ipynb`: is the assignment told by the question names its text mentions, every
    grade cell's visible asserts run as in a kernel, and the self-check cell never sent to the sandbox?"""
    nb = saved.filled(assignment)
    submission = load_submission(saved.save(tmp_path / "Untitled1.ipynb", saved.without_metadata(nb)))
    assert submission.assignment == assignment
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(submission.cells) == len(code) - 1
    assert not any("def self_check(" in c.source for c in submission.cells)


def test_another_assignments_notebook_under_this_name_is_graded_as_what_it_is(tmp_path):
    """attention_by_hand's notebook saved as masked_attention.ipynb: read as attention_by_hand (its grade ids say
    so, and none of masked_attention's are there), unless the assignment is given."""
    path = saved.save(tmp_path / f"{A}.ipynb", saved.filled("attention_by_hand"))
    assert load_submission(path).assignment == "attention_by_hand"
    assert load_submission(path, A).assignment == A
    assert load_submission(saved.save(tmp_path / "zero" / f"{A}.ipynb", nbformat.v4.new_notebook())).cells == []


@pytest.mark.parametrize("data, kind, words", [
    (b"", "invalid-json", "empty"), (b"  \n", "invalid-json", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00", "invalid-json", "UTF-8"), (b'{"cells": [', "invalid-json", "JSON, line 1"),
    (b'{"cells": ' + b"[" * 10**5 + b"]" * 10**5 + b"}", "invalid-json", "nested too deep"),
    (b'{"hello": "world"}', "not-a-notebook", "no list of cells"), (b"[1, 2]", "not-a-notebook", "no list of cells"),
    (b'{"nbformat": 9, "cells": []}', "not-a-notebook", "not a valid notebook"),
    (nbformat.writes(nbformat.v4.new_notebook()).encode(), "which-assignment", "--assignment"),
])
def test_what_cannot_be_graded_is_one_bilingual_line(tmp_path, data, kind, words):
    """Empty, binary, cut-off, not a notebook, of no known assignment: one line, Chinese then English, and a kind?"""
    (tmp_path / "homework.ipynb").write_bytes(data)
    with pytest.raises(SubmissionError) as refused:
        load_submission(tmp_path / "homework.ipynb")
    assert BILINGUAL.match(str(refused.value)) and words in refused.value.en and refused.value.kind == kind


PLAIN = ['s = """\n%d items\n!not a shell\n"""\n', "x = (1\n     % 2)\n", "a = 1  # why?\n", "print('hi?')",
         "y = 'line\\u2028separated'\n"]


@pytest.mark.parametrize("source", PLAIN)
def test_plain_python_is_left_exactly_as_it_is(source):
    """A `%` or `!` inside a string or a continued line, a `?` in a comment: is plain Python never rewritten?"""
    assert to_python(source) == source


IPYTHON = {  # what a student writes: a name it must define (None: nothing)
    "%time x = 1": None, "%%time\ndef f():\n    return 1": "def f()", "for i in range(2):\n    %time y = i": "    ",
    "x = !ls": "x = ", "%matplotlib inline\n%load_ext autoreload\n%autoreload 2": None, "f?\n?f\nf??": None,
    "!pip install torch\n%pip install torch": None, "%%capture out\nz = 1": "\nz = 1", "%%bash\nrm -rf /": None,
    "    a = 1\n    b = 2": "a = 1\nb = 2", ">>> c = 1\n>>> c + 1": "c = 1", "%%writefile m.py\nimport os": None,
}


@pytest.mark.parametrize("source", IPYTHON)
def test_ipython_syntax_becomes_python_that_compiles(source):
    """Magics, shell escapes, help, indented and prompted pastes: Python that compiles, indentation kept, the body
    of a %%time / %%capture cell kept as the cell's own code?"""
    python = to_python(source)
    compile(python, "<cell>", "exec")
    assert IPYTHON[source] is None or IPYTHON[source] in python

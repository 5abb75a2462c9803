"""Does a correct notebook get full marks however the student saved it — Colab without nbgrader's metadata, a copy
into `Untitled1.ipynb`, Windows' byte-order mark and CRLF, IPython magics and shell lines in its cells — and another
assignment's notebook under this one's name get graded as what it is (or, where this one is asked for, say so)?

Each notebook is graded once, warm, through `autograder.check.check`.
"""
from __future__ import annotations

import pytest

from autograder.check import check
from autograder.submission import SubmissionError
from support import saved
from support.hostile import FAST

pytestmark = pytest.mark.slow

MASKED, BY_HAND, BERT = "masked_attention", "attention_by_hand", "bert_heads"
COLAB_CELLS = ("!pip install transformers", "from google.colab import drive\ndrive.mount('/content/drive')",
               "%cd /content/drive/MyDrive", "name = input('your name: ')")
"""What Colab students add at the top: an install, Drive (not importable here), a folder, a question."""
IPYTHON_CELLS = (
    "%time _m = causal_mask(4)\nassert _m.shape == (4, 4)",  # an assignment under %time stays, as in a kernel
    "_n = %time causal_mask(3)\n%prun -q _p = causal_mask(2)\nassert _n.shape == (3, 3) and _p.shape == (2, 2)",
    "%timeit causal_mask(4)\nfiles = !ls\ncausal_mask?\n?masked_self_attention",
    "for n in range(2, 4):\n    %time m = causal_mask(n)\n    assert m.shape == (n, n)",
    "%%capture out\nprint('hidden')\ncaptured = True",
    "assert captured and out is not None",
    "%%writefile helper.py\ndef twice(x):\n    return 2 * x\n",
    "from helper import twice\nassert twice(2) == 4",
    "%%bash\necho hi\nrm -rf /",
    "display(causal_mask(3))",
    "%env MY_FLAG=1\nimport os\nassert os.environ['MY_FLAG'] == '1'",
    "    indented = 1\n    pasted = 2",
    ">>> prompt = 3\n>>> prompt + 1",
)
"""Scratch cells in IPython syntax: each raises if its magic did not do what a kernel does."""


def _ipython_notebook():
    """masked_attention with its answers in IPython syntax: %%time and %%capture on answer cells, a quiz answer
    under %time, magics and shell lines before an answer, and IPYTHON_CELLS."""
    nb = saved.filled(MASKED)
    key = lambda grade_id: saved.key_answer(MASKED, grade_id)  # noqa: E731
    nb = saved.replaced(nb, "answer_causal_mask", "%%time\n" + key("answer_causal_mask"))
    nb = saved.replaced(nb, "answer_masked_self_attention", "%%capture\n%matplotlib inline\n%load_ext autoreload\n"
                        "%autoreload 2\n!pip install torch\n%pip install torch\n" + key("answer_masked_self_attention"))
    nb = saved.replaced(nb, "answer_quiz_why_causal", "%time " + key("answer_quiz_why_causal").splitlines()[-1])
    return saved.inserted(nb, "answer_masked_self_attention", *IPYTHON_CELLS)


def _untitled_notebook():
    """attention_by_hand copied into a new notebook (no metadata at all): the sdpa answer moved to the end under
    %%time, and the ex1_scores cell copied, the first copy edited wrong, the later one right."""
    nb = saved.filled(BY_HAND)
    right = saved.key_answer(BY_HAND, "answer_ex1_scores")
    nb = saved.inserted(saved.replaced(nb, "answer_ex1_scores", "ex1_scores = [[1, 0], [0, 1]]"), "answer_ex1_scores",
                        right, metadata_of="answer_ex1_scores")
    sdpa = "answer_scaled_dot_product_attention"
    nb = saved.moved_to_end(saved.replaced(nb, sdpa, "%%time\n" + saved.key_answer(BY_HAND, sdpa)), sdpa)
    return saved.without_metadata(nb)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Form → its Result, each notebook graded once."""
    tmp = tmp_path_factory.mktemp("saved")
    colab = saved.inserted(saved.filled(BERT), "imports", *COLAB_CELLS)
    notebooks = {
        "colab": saved.save(tmp / "colab" / f"Copy of {BERT}.ipynb", saved.colab(colab)),
        "ipython": saved.save(tmp / "ipython" / f"{MASKED}.ipynb", _ipython_notebook()),
        "windows": saved.save(tmp / "windows" / f"{MASKED}.ipynb", saved.filled(MASKED), bom=b"\xef\xbb\xbf",
                              crlf=True, after=b"\r\n}\x00\x00"),
        "untitled": saved.save(tmp / "untitled" / "Untitled1.ipynb", _untitled_notebook()),
        "other": saved.save(tmp / "other" / f"{MASKED}.ipynb", saved.filled(BY_HAND)),
    }
    graded = {form: _grade(path) for form, path in notebooks.items()}
    graded |= {f"{form}, {MASKED} asked": _grade(notebooks[form], MASKED) for form in ("other", "windows")}
    return graded


def _grade(path, assignment=None):
    """The Result, or the SubmissionError that refused the notebook (each test then fails on its own)."""
    try:
        return check(path, assignment=assignment, limits=FAST, warm=True)
    except SubmissionError as refused:
        return refused


def automatic(result) -> float:
    return sum(q.max_score for q in result.questions if q.status != "manual")


def test_a_colab_download_without_nbgrader_metadata_gets_full_marks(graded):
    """Copy of bert_heads.ipynb from Colab: no grade ids, Colab's metadata, pip/Drive/cd/input cells on top. Told
    by its name, every automatic point, and only Drive's import and input() recorded as the cells that failed?"""
    result = graded["colab"]
    assert result.assignment == BERT and result.score == automatic(result) > 0
    assert sorted((e.kind, e.message.split(":")[0]) for e in result.errors) == [
        ("exception", "EOFError"), ("exception", "ModuleNotFoundError")]


def test_ipython_syntax_runs_as_in_a_kernel(graded):
    """%%time / %%capture on answers, a quiz answered under %time, magics in an indented loop, `x = !ls`, help,
    %%writefile then import, %env, pasted indented or `>>>` code: full marks, and no cell failed?"""
    result = graded["ipython"]
    assert (result.score, result.max_score) == (14, 14)
    assert result.errors == []


def test_a_windows_saved_notebook_gets_full_marks(graded):
    """A byte-order mark, CRLF line ends in the file and in every source, NULs after the JSON: full marks?"""
    result = graded["windows"]
    assert (result.assignment, result.score, result.max_score) == (MASKED, 14, 14) and result.errors == []


def test_a_copy_into_an_untitled_notebook_gets_full_marks(graded):
    """No metadata and no name: told by its contents; the later copy of a duplicated answer wins, an answer moved to
    the end and timed with %%time counts, the grade cells' visible asserts pass: full marks?"""
    result = graded["untitled"]
    assert (result.assignment, result.score, result.max_score) == (BY_HAND, 15, 15)
    assert all(e.kind == "exception" and "NameError" in e.message for e in result.errors)  # cells before the answer


def test_another_assignments_notebook_under_this_name_is_graded_as_what_it_is(graded):
    """attention_by_hand's notebook saved as masked_attention.ipynb: graded as attention_by_hand, full marks?"""
    result = graded["other"]
    assert (result.assignment, result.score, result.max_score) == (BY_HAND, 15, 15)


def test_another_assignments_notebook_where_this_one_is_asked_for_says_so(graded):
    """The same notebook where masked_attention is asked for (batch, the service, Gradescope): graded as asked,
    with a note naming both assignments; a masked_attention notebook asked for as such gets no note?"""
    result = graded[f"other, {MASKED} asked"]
    assert result.assignment == MASKED and result.score == 0
    notes = [e for e in result.errors if e.kind == "other-assignment"]
    assert len(notes) == 1 and notes[0].cell == -1 and BY_HAND in notes[0].message and MASKED in notes[0].message
    assert graded[f"windows, {MASKED} asked"].errors == []

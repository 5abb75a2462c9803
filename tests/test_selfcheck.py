"""The in-notebook self-check: which notebook it finds, and what it shows and returns."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import selfcheck
from autograder.result import Result
from autograder.selfcheck import find_notebook, self_check

SOURCE = Path(__file__).resolve().parents[1] / "source" / "attention_by_hand" / "attention_by_hand.ipynb"


@pytest.fixture
def submission(tmp_path) -> Path:
    """A copy of the instructor notebook (full marks) in a fresh folder."""
    path = tmp_path / "attention_by_hand.ipynb"
    shutil.copy(SOURCE, path)
    return path


def test_finds_the_notebook_named_by_jupyter_server(tmp_path, submission, monkeypatch):
    """Is JPY_SESSION_NAME used, whether absolute or relative to the working directory?"""
    (tmp_path / "other.ipynb").write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(submission))
    assert find_notebook(tmp_path) == submission
    monkeypatch.setenv("JPY_SESSION_NAME", f"course/{submission.name}")  # relative to the server root
    assert find_notebook(tmp_path) == tmp_path / submission.name


def test_falls_back_to_the_only_notebook_in_the_folder(tmp_path, submission, monkeypatch):
    """Without Jupyter's hints, is the single .ipynb in the working directory taken, and two refused?"""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert find_notebook(tmp_path) == submission
    (tmp_path / "copy.ipynb").write_text("{}")
    with pytest.raises(FileNotFoundError, match="self_check"):
        find_notebook(tmp_path)


@pytest.mark.slow
def test_self_check_returns_the_result_and_displays_html(submission, monkeypatch):
    """Does self_check(path) return the Result and hand IPython one HTML display with the table and a picture?"""
    from IPython.core.display import HTML
    shown = []
    monkeypatch.setattr(selfcheck, "_in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    result = self_check(submission, lang="zh")
    assert isinstance(result, Result) and result.assignment == "attention_by_hand"
    assert result.score == result.max_score
    assert repr(result) == f"<Result attention_by_hand: {result.max_score:g}/{result.max_score:g}>"
    assert len(shown) == 1 and isinstance(shown[0], HTML)
    html = shown[0].data
    assert 'class="attn-fb"' in html and "保存" in html
    assert all(f'id="q-{q.id}"' in html for q in result.questions)
    sdpa = html.split('id="q-sdpa"')[1].split("</section>")[0]
    assert sdpa.count('src="data:image/svg+xml;base64,') == 1  # the student's own sdpa weights


@pytest.mark.slow
def test_self_check_cell_shows_html_in_a_real_kernel(tmp_path, submission, monkeypatch):
    """Run from a cell of a kernel started the way Jupyter Server starts it: is the output an HTML display?"""
    monkeypatch.setenv("JPY_SESSION_NAME", str(submission))  # what JupyterLab / Notebook 7 set for the kernel
    elsewhere = tmp_path / "elsewhere"  # the kernel's folder holds two other notebooks, so only the hint can tell
    elsewhere.mkdir()
    for decoy in ("a.ipynb", "b.ipynb"):
        (elsewhere / decoy).write_text("{}")
    runner = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from autograder.selfcheck import self_check\nresult = self_check(lang='en')\nprint(result.score)")])
    NotebookClient(runner, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(elsewhere)}}).execute()
    outputs = runner.cells[0].outputs
    html = [o for o in outputs if o.output_type == "display_data" and "text/html" in o.data]
    assert len(html) == 1, json.dumps(outputs, default=str)[:2000]
    page = html[0].data["text/html"]
    assert "attn-fb" in page and "attention_by_hand" in page and "data:image/svg+xml;base64," in page
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert float(printed.strip()) == 15.0

"""The in-notebook self-check: which notebook it finds, and what it shows and returns."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

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
def test_self_check_prints_the_table_outside_a_kernel(submission, capsys):
    """Outside Jupyter, does self_check(path) grade in a child process and print the terminal table?"""
    self_check(submission, lang="en")
    out = capsys.readouterr().out
    assert out.startswith(f"attention_by_hand — {submission}") and "total: 15/15" in out


@pytest.mark.slow
def test_self_check_cell_shows_html_in_a_real_kernel(tmp_path, submission, monkeypatch):
    """Run from a cell of a kernel started the way Jupyter Server starts it: is the output one HTML display, and
    are the key and the graders kept out of the kernel?"""
    monkeypatch.setenv("JPY_SESSION_NAME", str(submission))  # what JupyterLab / Notebook 7 set for the kernel
    elsewhere = tmp_path / "elsewhere"  # the kernel's folder holds two other notebooks, so only the hint can tell
    elsewhere.mkdir()
    for decoy in ("a.ipynb", "b.ipynb"):
        (elsewhere / decoy).write_text("{}")
    runner = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from autograder.selfcheck import self_check\nself_check(lang='en')\nimport sys\n"
        "print('assignments' in sys.modules, 'autograder.check' in sys.modules)")])
    NotebookClient(runner, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(elsewhere)}}).execute()
    outputs = runner.cells[0].outputs
    html = [o for o in outputs if o.output_type == "display_data" and "text/html" in o.data]
    assert len(html) == 1, json.dumps(outputs, default=str)[:2000]
    page = html[0].data["text/html"]
    assert "attn-fb" in page and "attention_by_hand" in page and "data:image/svg+xml;base64," in page
    assert "saved at" in page  # which saved copy was graded
    assert [o.text for o in outputs if o.output_type == "stream"] == ["False False\n"]  # graded in a child process
    assert "15 / 15" in page

"""Does the Gradescope autograder zip grade a submission the way Gradescope runs it, into a schema-clean results.json?

The zip is built with the CLI, unpacked into a stand-in for /autograder (ATTN_GRADESCOPE_ROOT) as Gradescope's
image build does (the zip's contents in source/, run_autograder at the root), and run_autograder is run there as
root. setup.sh itself cannot run here (it installs Debian packages and downloads torch): the project's own .venv
python stands in for the one setup.sh builds (ATTN_GRADESCOPE_PYTHON), and the zip's own code is imported (the
script puts source/ first on PYTHONPATH).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.export.gradescope_run import grade_submission
from autograder.reports.gradescope import gradescope_results, markdown_code, markdown_text
from autograder.result import ErrorRecord, QuestionResult, Result
from support.answers import CAUSAL_MASK
from support.notebooks import ROOT, make_submission, source_notebook

ID = "masked_attention"
# Gradescope's documented results.json fields (gradescope-autograders.readthedocs.io/en/latest/specs/)
TOP_FIELDS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
              "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_FIELDS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
               "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def assert_gradescope_schema(results: dict) -> None:
    """Every field is one Gradescope documents, with a value of the documented kind."""
    assert set(results) <= TOP_FIELDS, set(results) - TOP_FIELDS
    assert isinstance(results["score"], (int, float)) and isinstance(results["execution_time"], (int, float))
    assert results["output_format"] in FORMATS and isinstance(results["output"], str)
    assert {results["visibility"], results["stdout_visibility"]} <= VISIBILITY
    assert isinstance(results["extra_data"], dict)
    for test in results["tests"]:
        assert set(test) <= TEST_FIELDS, set(test) - TEST_FIELDS
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["status"] in {"passed", "failed"} and test["visibility"] in VISIBILITY
        assert test["output_format"] in FORMATS and isinstance(test["number"], str)
        assert isinstance(test["tags"], list) and all(isinstance(tag, str) for tag in test["tags"])


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    run = CliRunner().invoke(main, ["export", "gradescope", "--assignment", ID, "--out", str(out), "--lang", "en"])
    assert run.exit_code == 0, run.output
    return out


def run_autograder(autograder_zip: Path, root: Path, submission: dict[str, Path], hide_bwrap: bool) -> dict:
    """Unpack the zip as Gradescope does, put `submission` (relative name → notebook) in, run, read results.json."""
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    for name, notebook in submission.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, root / "submission" / name)
    (root / "results").mkdir()
    env = dict(os.environ, ATTN_GRADESCOPE_ROOT=str(root), ATTN_GRADESCOPE_PYTHON=sys.executable)
    if hide_bwrap:  # as in Gradescope's containers: no bubblewrap, so the process fallback
        env["PATH"] = str(root / "no-bwrap-here")
    run = subprocess.run(["/bin/bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_the_zip_has_gradescope_layout_and_pins_torch(autograder_zip):
    """Are setup.sh and run_autograder at the zip's root, executable and valid bash, with the package beside them,
    and does setup.sh install the torch pinned in pyproject.toml from PyTorch's CPU index?"""
    with zipfile.ZipFile(autograder_zip) as archive:
        names = set(archive.namelist())
        modes = {name: archive.getinfo(name).external_attr >> 16 for name in ("setup.sh", "run_autograder")}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "assignments/masked_attention.py",
            "autograder/graders/test_masked_attention.py"} <= names
    assert not any("__pycache__" in name for name in names)
    assert all(mode & 0o111 for mode in modes.values())
    pin = next(d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
               if d.startswith("torch"))
    assert f"{pin} " in setup.replace("\n", " ") and "https://download.pytorch.org/whl/cpu" in setup
    assert "-e /autograder/source" in setup and "bubblewrap" in setup
    assert f"--assignment {ID}" in run and "--visibility after_published" in run
    for script in (setup, run):
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


@pytest.mark.slow
def test_a_right_submission_under_another_name_scores_full(autograder_zip, tmp_path):
    """Does run_autograder grade the only notebook, renamed and in a folder, to full marks in a clean results.json?"""
    results = run_autograder(autograder_zip, tmp_path / "autograder",
                             {"my work/attempt-2.ipynb": source_notebook(ID)}, hide_bwrap=False)
    assert_gradescope_schema(results)
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) == 14
    assert all(t["status"] == "passed" and t["tags"] == [] for t in results["tests"])
    assert results["output_format"] == "md" and "renamed-notebook" in results["output"]
    assert {t["visibility"] for t in results["tests"]} == {"after_published"}


@pytest.mark.slow
def test_a_triu_mask_is_tagged_and_the_key_stays_hidden_without_bubblewrap(autograder_zip, tmp_path):
    """Without bubblewrap (the process fallback, as root), does a triu mask lose causal_mask's points, tagged
    triu-instead-of-tril, while padding_mask keeps its own, and is the run said to be `process` isolation?"""
    wrong = make_submission(source_notebook(ID), tmp_path / "wrong" / f"{ID}.ipynb",
                            replace={"answer_causal_mask": CAUSAL_MASK["triu-instead-of-tril"]})
    results = run_autograder(autograder_zip, tmp_path / "autograder", {f"{ID}.ipynb": wrong}, hide_bwrap=True)
    assert_gradescope_schema(results)
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["causal_mask"]["score"] < tests["causal_mask"]["max_score"] / 2
    assert tests["causal_mask"]["status"] == "failed"
    assert "triu-instead-of-tril" in tests["causal_mask"]["tags"]
    assert tests["padding_mask"]["score"] == tests["padding_mask"]["max_score"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    assert results["extra_data"]["isolation"] == "process"
    assert "no-privilege-drop" not in results["output"]


def test_an_empty_or_ambiguous_submission_gets_a_verdict(tmp_path):
    """Does a submission with no notebook, or two and none named as released, still get a results.json with a
    one-line reason and 0 points?"""
    (tmp_path / "empty").mkdir()
    empty = grade_submission(tmp_path / "empty", ID)
    for name in ("a.ipynb", "b/c.ipynb"):
        (tmp_path / "two" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source_notebook(ID), tmp_path / "two" / name)
    two = grade_submission(tmp_path / "two", ID)
    for result, kind in ((empty, "no-notebook"), (two, "several-notebooks")):
        results = gradescope_results(result)
        assert_gradescope_schema(results)
        assert results["score"] == 0 and [e.kind for e in result.errors] == [kind]
        assert f"{ID}.ipynb" in results["output"] and len(result.errors[0].message.splitlines()) == 1


def test_student_text_cannot_break_the_markdown():
    """Do a student's exception text and a feedback line full of Markdown and HTML render as plain text: fenced
    verbatim (no fence inside can close it) and escaped?"""
    nasty = "```\n# heading\n</pre><script>alert(1)</script> [x](javascript:y) **b** & # not a heading"
    result = Result(ID, "nb.ipynb", 0.0, 2.0, "bwrap", 1.0,
                    [QuestionResult("causal_mask", 0.0, 2.0, "failed", ["triu-instead-of-tril"], nasty)],
                    [ErrorRecord(3, "exception", nasty)])
    results = gradescope_results(result)
    assert markdown_code(nasty) in results["output"] and "\n````text\n" in results["output"]  # a fence of 4
    escaped = results["tests"][0]["output"]
    assert escaped == markdown_text(nasty)
    for raw in ("<script>", "[x](", "**b**", " & ", "\n# "):
        assert raw not in escaped

"""The self-check client's pieces that need no server: messages, the cell's code, the token file."""
from __future__ import annotations

import json
import stat

import nbformat
import pytest

from assignments import ASSIGNMENT_IDS
from autograder import client
from autograder.release import self_check_source
from autograder.submission import SELF_CHECK_ID
from support.notebooks import release_notebook, source_notebook


def self_check_cell(path):
    nb = nbformat.read(path, as_version=4)
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == SELF_CHECK_ID)


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_every_notebook_s_self_check_cell_is_the_client(assignment):
    """Is the self-check cell of every source and released notebook autograder/client.py as it is now, collapsed?"""
    for path in (source_notebook(assignment), release_notebook(assignment)):
        cell = self_check_cell(path)
        assert cell.source == self_check_source(), f"{path} is stale: run `make release`"
        assert cell.metadata["jupyter"]["source_hidden"]


def test_the_client_imports_only_the_standard_library():
    """Does the cell's code import nothing outside the standard library (IPython only when already running)?"""
    import ast
    import sys
    tree = ast.parse(self_check_source())
    top = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    top |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert top - sys.stdlib_module_names == {"autograder", "IPython"}  # both only when they are there


def test_a_baked_server_is_the_only_difference():
    """Does `make release SERVER=URL` change exactly the SERVER line of the cell?"""
    plain, baked = self_check_source().splitlines(), self_check_source("https://grader.example.edu").splitlines()
    changed = [(a, b) for a, b in zip(plain, baked) if a != b]
    assert changed == [('SERVER = ""  # `make release SERVER=URL` writes the class server\'s address here',
                        'SERVER = "https://grader.example.edu"  # `make release SERVER=URL` writes the class '
                        "server's address here")]


def test_server_errors_read_as_one_sentence():
    """Is the server's own bilingual line shown, with the wait of a 429 when the line lacks it, and a bare status
    line when the answer is not ours (a proxy's HTML)?"""
    body = json.dumps({"error": "in-flight", "message": "还在评分 / Still being graded"}).encode()
    assert client.error_sentence(429, body, "5") == "还在评分 / Still being graded (5 秒后再试 / try again in 5 s)"
    assert client.error_sentence(429, json.dumps({"message": "请 7 秒后再交 / try in 7 s"}).encode(), "7") == \
        "请 7 秒后再交 / try in 7 s"
    assert client.error_sentence(502, b"<html>Bad gateway</html>") == \
        "班级服务器回答 HTTP 502 / The class server answered HTTP 502"


def test_token_comes_from_the_environment_then_the_file_and_is_saved_0600(tmp_path, monkeypatch):
    """ATTN_GRADE_TOKEN before ~/.config/attn-grade/token; a token typed in is saved only if asked, mode 0600."""
    token_file = tmp_path / ".config" / "attn-grade" / "token"
    monkeypatch.setattr(client, "TOKEN_FILE", token_file)
    monkeypatch.setenv("ATTN_GRADE_TOKEN", "from-env")
    assert client.find_token("http://x") == ("from-env", False)
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    client.offer_to_save("typed.in")
    assert token_file.read_text() == "typed.in\n" and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    monkeypatch.delenv("ATTN_GRADE_TOKEN")
    assert client.find_token("http://x") == ("typed.in", False)
    token_file.unlink()
    with pytest.raises(client.ClientError, match="ATTN_GRADE_TOKEN"):  # no terminal to ask in under pytest
        client.find_token("http://x")

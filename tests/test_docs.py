"""Are the docs true: does every CLI command have help with an example, and do the README's commands run?"""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.demo import build_class
from support.notebooks import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVERS = (".venv/bin/attn-grade serve",)
"""Commands that run until stopped: tests/service starts the server the same way and talks to it."""
ATTN_GRADE_LINES = [line.split("  #")[0].strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S)
                    for line in block.splitlines() if line.startswith(".venv/bin/attn-grade")
                    and not line.startswith(SERVERS)]


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_with_an_example(command):
    """Does `attn-grade COMMAND --help` explain the command and show an Example?"""
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_the_readme_opens_with_make_demo_and_make_test():
    """Are `make demo` and `make test` the README's first two commands?"""
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in first_block[:2]] == ["make demo", "make test"]


@pytest.mark.slow
@pytest.mark.parametrize("line", ATTN_GRADE_LINES)
def test_readme_attn_grade_command_runs(line, tmp_path):
    """Does each `attn-grade` command shown in the README run and exit 0?"""
    line = line.replace("/tmp/", f"{tmp_path}/")  # nothing written outside the test's own folder
    if "demo-out/" in line:  # what `make demo` leaves behind, built here instead of in the repo
        build_class(tmp_path / "demo-out" / "submitted")
        line = line.replace("demo-out/", f"{tmp_path}/demo-out/")
    run = subprocess.run(shlex.split(line), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]

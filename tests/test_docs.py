"""Are the docs true: does every CLI command have help with an example, and do the README's commands run?"""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.demo import build_class
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
ATTN_GRADE_LINES = [line.split("  #")[0].strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S)
                    for line in block.splitlines() if line.startswith(".venv/bin/attn-grade")]


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
    if "demo-out/submitted" in line and not (ROOT / "demo-out" / "submitted").is_dir():
        build_class(ROOT / "demo-out" / "submitted")  # what `make demo` leaves behind
    run = subprocess.run(shlex.split(line), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]

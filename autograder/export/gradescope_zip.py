"""`attn-grade export gradescope`: an autograder zip in Gradescope's format (setup.sh and run_autograder at its root)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from assignments import ASSIGNMENT_IDS
from autograder.reports.gradescope import VISIBILITIES

PROJECT = Path(__file__).resolve().parents[2]
PACKAGES = ("autograder", "assignments")
PROJECT_FILES = ("pyproject.toml", "README.md")
"""What `pip install -e` needs besides the packages (pyproject names README.md as the readme)."""
VENV = "/opt/attn-grade/venv"
"""Where setup.sh builds the grader's environment: outside /autograder, which the student's code cannot read."""
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
"""PyTorch's CPU wheels (Gradescope's build has network); PyPI's default torch would pull in CUDA."""

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu; /autograder/source = this zip).
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Python 3.11 or newer; bubblewrap is used where the container lets it create namespaces (else the process fallback).
apt-get install -y --no-install-recommends python3.11 python3.11-venv bubblewrap \\
  || apt-get install -y --no-install-recommends python3 python3-venv bubblewrap
PYTHON="$(command -v python3.11 || command -v python3)"
"$PYTHON" -m venv {VENV}
{VENV}/bin/pip install --no-cache-dir --index-url {TORCH_INDEX} torch==2.13.0
{VENV}/bin/pip install --no-cache-dir --extra-index-url {TORCH_INDEX} -e /autograder/source
# the student's code runs as a uid of its own in this group (autograder/sandbox/privileges.py)
id attn-sandbox || useradd --system --user-group --no-create-home --home-dir /nonexistent \\
  --shell /usr/sbin/nologin attn-sandbox
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this, as root in /autograder, once per submission: grade the notebook found in
# $ROOT/submission and write $ROOT/results/results.json. ATTN_GRADESCOPE_ROOT stands in for /autograder and
# ATTN_GRADESCOPE_PYTHON for setup.sh's interpreter (tests).
ROOT="${{ATTN_GRADESCOPE_ROOT:-/autograder}}"
PYTHON="${{ATTN_GRADESCOPE_PYTHON:-{venv}/bin/python}}"
cd "$ROOT" || exit 1
# the zip's own code first; everything under $ROOT (source, submission, results) is kept from the student's code
export PYTHONPATH="$ROOT/source" ATTN_GRADE_PROTECT="$ROOT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
exec "$PYTHON" -m autograder.export.gradescope_run --assignment {assignment} --visibility {visibility} --lang {lang}
"""


def build_autograder_zip(assignment: str, out: str | Path, visibility: str = "after_published",
                         lang: str = "en") -> Path:
    """Write Gradescope's autograder zip for `assignment`.

    Args:
        assignment: the assignment id the zip grades.
        out: the zip to write.
        visibility: Gradescope's visibility of the tests and the summary (see reports/gradescope.py).
        lang: "zh" or "en", the language of the feedback.
    Returns:
        The path written.
    Raises:
        ValueError: an unknown assignment or visibility.
    """
    if assignment not in ASSIGNMENT_IDS:
        raise ValueError(f"unknown assignment {assignment!r} (known: {', '.join(ASSIGNMENT_IDS)})")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    run = RUN_AUTOGRADER.format(venv=VENV, assignment=assignment, visibility=visibility, lang=lang)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(archive, "run_autograder", run.encode(), executable=True)
        for name in PROJECT_FILES:
            _add(archive, name, (PROJECT / name).read_bytes())
        for package in PACKAGES:
            for path in sorted((PROJECT / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    _add(archive, path.relative_to(PROJECT).as_posix(), path.read_bytes())
    return out


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    """One entry, with a fixed date (the same sources give the same zip) and Unix permissions."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)

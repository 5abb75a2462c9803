"""Self-check from a cell of a released notebook: grade the saved notebook in the sandbox and show the table inline."""
from __future__ import annotations

import os
import time
from pathlib import Path

from assignments.quiz import Text
from autograder.result import Result

SAVE_FIRST = Text("检查的是磁盘上保存的版本(保存于 {saved}):先保存笔记本(Ctrl+S / ⌘S),再运行这个单元格。",
                  "This checks the copy saved on disk (saved at {saved}): save the notebook (Ctrl+S / ⌘S) before "
                  "running this cell.")
NOT_FOUND = Text("找不到当前笔记本:请把路径传给 self_check(\"xxx.ipynb\")。",
                 "Cannot tell which notebook this is: pass its path, self_check(\"xxx.ipynb\").")


def self_check(notebook_path: str | os.PathLike | None = None, lang: str | None = None) -> Result:
    """Grade this notebook with the same engine as `attn-grade check` and show the result as HTML.

    Use it from a cell of a released notebook: `from autograder.selfcheck import self_check; self_check()`.
    It saves nothing: it grades the notebook as last saved. Student code runs in the sandbox as usual, never
    in this kernel. Works in JupyterLab, Notebook 7 and classic Notebook (a plain HTML display); outside
    IPython it prints the terminal table instead.

    Args:
        notebook_path: the .ipynb to check; found automatically when None (see `find_notebook`).
        lang: "zh" or "en"; from the locale when None.
    Returns:
        The Result (shown inline already; its repr is one line).
    Raises:
        FileNotFoundError: no notebook was given and none could be found.
        SubmissionError: the notebook is unreadable or invalid, or its assignment is unknown.
    """
    from autograder.check import check_with_figures
    path = Path(notebook_path) if notebook_path is not None else find_notebook()
    lang = lang or _default_lang()
    result, figures = check_with_figures(path, lang=lang)
    result = SelfCheckResult(**vars(result))
    show(result, path, lang, figures)
    return result


class SelfCheckResult(Result):
    """A Result whose repr is one line, so a cell ending in `self_check()` does not print the whole dataclass."""

    def __repr__(self) -> str:
        return f"<Result {self.assignment}: {self.score:g}/{self.max_score:g}>"


def find_notebook(cwd: str | os.PathLike | None = None) -> Path:
    """The notebook this kernel belongs to.

    Tried in order: `__session__` in the IPython namespace and `JPY_SESSION_NAME` in the environment (both set
    by Jupyter Server for JupyterLab and Notebook 7; an absolute path, or one relative to the server root),
    `__vsc_ipynb_file__` (VS Code), then the only .ipynb file in the working directory.

    Raises:
        FileNotFoundError: none of these names an existing notebook.
    """
    cwd = Path(cwd or os.getcwd())
    namespace = _user_namespace()
    for name in (namespace.get("__session__"), os.environ.get("JPY_SESSION_NAME"),
                 namespace.get("__vsc_ipynb_file__")):
        if isinstance(name, str) and name.endswith(".ipynb"):
            for candidate in (Path(name), cwd / name, cwd / Path(name).name):
                if candidate.is_file():
                    return candidate
    notebooks = [p for p in cwd.glob("*.ipynb") if p.is_file()]
    if len(notebooks) == 1:
        return notebooks[0]
    raise FileNotFoundError(NOT_FOUND.in_lang(_default_lang()))


def render_self_check(result: Result, path: Path, lang: str, figures: dict[str, bytes] | None = None) -> str:
    """The inline HTML: a reminder of which saved copy was graded, then the feedback fragment with its pictures."""
    from autograder.reports.html import render_feedback_fragment
    saved = time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime)) if path.exists() else "?"
    note = SAVE_FIRST.in_lang(lang).format(saved=saved)
    return (f'<div style="color: #57606a; font-size: .9em; margin-bottom: .4em">{note}</div>'
            + render_feedback_fragment(result, lang, figures))


def show(result: Result, path: Path, lang: str, figures: dict[str, bytes] | None = None) -> None:
    """Display the result: HTML with pictures of the student's values in a Jupyter kernel, the table elsewhere."""
    if _in_kernel():
        from IPython.display import HTML, display
        display(HTML(render_self_check(result, path, lang, figures)))
    else:
        from autograder.reports.terminal import render_table
        print(render_table(result, lang))


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _user_namespace() -> dict:
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def _default_lang() -> str:
    from autograder.cli import default_lang
    return default_lang()

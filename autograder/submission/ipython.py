"""IPython syntax in a cell (magics, shell escapes, help, pasted prompts) as the plain Python that the sandbox runs
and the scans read.

A cell that compiles is plain Python and stays as it is. Any other is translated by IPython's own input transformer,
as a kernel does: `%time x = f()` becomes `get_ipython().run_line_magic('time', 'x = f()')`, `!pip install x`
`get_ipython().system('pip install x')`, `f?` a `pinfo` magic, indented or `>>>`-prompted pastes are cleaned, and
indentation is kept. The sandbox's `get_ipython()` (sandbox/inside/runner.py) then runs what runs Python in a kernel
and does nothing for the rest. The body of a `%%time`, `%%capture` or `%%prun` cell runs in the notebook's namespace in
a kernel, so it stays code of the cell here (its definitions are seen by the scans too).
"""
from __future__ import annotations

import re
import warnings

BODY_MAGICS = ("time", "capture", "prun")
"""Cell magics whose body a kernel runs in the notebook's namespace, keeping what it defines."""
CHECK_NAME = "<attn-grade cell>"
"""The file name cells are compiled under to see whether they are plain Python."""
_CELL_MAGIC = re.compile(r"%%(\w+)([ \t].*)?")
warnings.filterwarnings("ignore", module=re.escape(CHECK_NAME))  # a student's `x is 1` is the sandbox's to warn about


def to_python(source: str) -> str:
    """The cell's source as plain Python (unchanged when it already is); as it was when IPython cannot read it
    either (the sandbox then reports its SyntaxError, as a kernel does)."""
    if _compiles(source):
        return source
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    magic = _CELL_MAGIC.fullmatch(lines[first].rstrip()) if first < len(lines) else None
    if magic and magic.group(1) in BODY_MAGICS:
        name, options = magic.group(1), (magic.group(2) or "").strip()
        header = f"get_ipython().run_cell_magic({name!r}, {options!r}, '')" if name == "capture" else f"# %%{name}"
        return "\n".join([*lines[:first], header, to_python("\n".join(lines[first + 1:]))])
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 — IPython missing, or a cell its tokenizer cannot read
        return source


def _compiles(source: str) -> bool:
    try:
        compile(source, CHECK_NAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError):
        return False
    return True

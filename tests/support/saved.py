"""Notebooks saved the way students' front ends and tools save them (JupyterLab 4, Notebook 6, VS Code, Colab,
nbstripout, older formats, Windows editors), built from a released notebook filled with the key's answers."""
from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import nbformat

from autograder.classroom import answered, solutions
from support.notebooks import release_notebook, source_notebook

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def filled(assignment: str, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook with every answer the key's (or `answers`, grade_id → source)."""
    return answered(release_notebook(assignment), source_notebook(assignment), answers)


def key_answer(assignment: str, grade_id: str) -> str:
    """The instructor's answer cell `grade_id`, without nbgrader's markers."""
    return solutions(source_notebook(assignment))[grade_id]


def jupyterlab(nb) -> nbformat.NotebookNode:
    """JupyterLab 4: nbformat 4.5, a cell id each, outputs (text, a PNG, an error) and execution counts."""
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    count = 0
    for cell in nb.cells:
        cell["id"] = uuid.uuid4().hex[:8]
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n"),
                            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                            nbformat.v4.new_output("error", ename="NameError", evalue="name 'x' is not defined",
                                                   traceback=["\x1b[0;31mNameError\x1b[0m"])]
    return nb


def classic(nb) -> nbformat.NotebookNode:
    """Notebook 6: nbformat 4.4, no cell ids."""
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)
    return nb


def minor(nb, version: int) -> nbformat.NotebookNode:
    """nbformat 4.`version` (0–2): no cell ids."""
    nb = classic(nb)
    nb.nbformat_minor = version
    return nb


def version3(nb) -> dict:
    """The notebook in nbformat 3 (worksheets, `input` for the source)."""
    return nbformat.convert(classic(nb), 3)


def vscode(nb) -> dict:
    """VS Code: each source one string, `vscode` metadata on the notebook and its cells."""
    nb = copy.deepcopy(nb)
    nb.metadata["vscode"] = {"interpreter": {"hash": "0" * 64}}
    nb.metadata["orig_nbformat"] = 4
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["vscode"] = {"languageId": "python"}
    return _as_json(nb)  # sources stay single strings (nbformat.writes would split them into lines)


def colab(nb) -> nbformat.NotebookNode:
    """Google Colab's download: nbformat 4.0, `colab` metadata, an `id` in each cell's metadata, outputs with an
    `outputId`, and every nbgrader metadata dropped."""
    nb = minor(nb, 0)
    nb.metadata = {"colab": {"provenance": [], "name": "bert_heads.ipynb"}, "kernelspec": nb.metadata["kernelspec"],
                   "language_info": {"name": "python"}, "accelerator": "GPU"}
    for cell in nb.cells:
        cell.metadata = {"id": uuid.uuid4().hex[:12]}
        if cell.cell_type == "code":
            cell.metadata["colab"] = {"base_uri": "https://localhost:8080/"}
            cell.metadata["outputId"] = str(uuid.uuid4())
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n")]
    return nb


def nbstripout(nb) -> nbformat.NotebookNode:
    """nbstripout: no outputs, no execution counts, no volatile metadata (nbgrader's stays)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        for key in ("collapsed", "scrolled", "ExecuteTime", "execution"):
            cell.metadata.pop(key, None)
    return nb


def without_metadata(nb) -> nbformat.NotebookNode:
    """Every cell deleted and made again in a new notebook (copied and pasted as text): no metadata at all."""
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
            "raw": nbformat.v4.new_raw_cell}
    return nbformat.v4.new_notebook(cells=[make[c.cell_type](c.source) for c in nb.cells])


def replaced(nb, grade_id: str, source: str) -> nbformat.NotebookNode:
    """The notebook with cell `grade_id`'s source replaced."""
    nb = copy.deepcopy(nb)
    _cell(nb, grade_id).source = source
    return nb


def inserted(nb, after: str, *sources: str, metadata_of: str | None = None) -> nbformat.NotebookNode:
    """The notebook with new code cells after cell `after` (carrying cell `metadata_of`'s metadata: a copy)."""
    nb = copy.deepcopy(nb)
    at = nb.cells.index(_cell(nb, after)) + 1
    for offset, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if metadata_of:
            cell.metadata = copy.deepcopy(_cell(nb, metadata_of).metadata)
        nb.cells.insert(at + offset, cell)
    return nb


def moved_to_end(nb, *grade_ids: str) -> nbformat.NotebookNode:
    """The notebook with cells `grade_ids` moved to its end."""
    nb = copy.deepcopy(nb)
    cells = [_cell(nb, g) for g in grade_ids]
    nb.cells = [c for c in nb.cells if c not in cells] + cells
    return nb


def save(path: Path, nb, *, bom: bytes = b"", crlf: bool = False, after: bytes = b"",
         encoding: str = "utf-8") -> Path:
    """Write `nb` (a notebook or plain JSON) as an editor would: with a byte-order mark, CRLF line ends (in the file
    and in each source), bytes after the JSON, another encoding."""
    text = nb if isinstance(nb, str) else (nbformat.writes(nb) if isinstance(nb, nbformat.NotebookNode)
                                           and nb.get("nbformat") == 4 else json.dumps(nb, ensure_ascii=False,
                                                                                       indent=1))
    if crlf:
        data = json.loads(text)
        for cell in data.get("cells", []):
            source = cell.get("source", "")
            cell["source"] = ([line.replace("\n", "\r\n") for line in source] if isinstance(source, list)
                              else source.replace("\n", "\r\n"))
        text = json.dumps(data, ensure_ascii=False, indent=1).replace("\n", "\r\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bom + text.encode(encoding) + after)
    return path


def _as_json(nb) -> dict:
    data = json.loads(nbformat.writes(nb))
    for cell in data["cells"]:
        cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return data


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)

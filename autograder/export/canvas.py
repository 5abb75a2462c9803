"""`attn-grade export canvas`: a gradebook exported from Canvas, with one assignment column filled from results.jsonl.

Canvas's export (Gradebook → Export) has a header row (`Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`,
custom columns, one `Title (assignment id)` column per assignment, read-only totals), sometimes a `Manual Posting`
row, a `    Points Possible` row, then one row per student. Only the chosen column's cells of matched students
change (or a new column is appended, which Canvas imports as a new assignment); every other byte of the file, BOM,
delimiter, quoting and line ends included, stays as exported, so the file imports back as it came.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch.ledger import read_ledger

LOGIN = "SIS Login ID"
POINTS_POSSIBLE = "Points Possible"
BOM = "\ufeff"
_WITH_ID = re.compile(r"^(?P<title>.*) \((?P<id>\d+)\)$")
"""Canvas names an assignment column `Title (id)`."""


class CanvasError(ValueError):
    """The gradebook or the results cannot be used: a one-line reason."""


@dataclass
class CanvasFill:
    """What export_canvas did: the column filled, how many students, and who could not be matched."""

    column: str
    filled: int
    not_in_gradebook: list[str] = field(default_factory=list)
    """Graded students with no row in the gradebook: their scores are not in the file."""
    without_result: list[str] = field(default_factory=list)
    """Gradebook logins with no result: their cells were left as exported."""


def export_canvas(out_dir: str | Path, roster: str | Path, out: str | Path, column: str | None = None,
                  mapping: str | Path | None = None) -> CanvasFill:
    """Fill a Canvas gradebook export with the scores of OUT_DIR/results.jsonl and write it to `out`.

    Args:
        out_dir: an `attn-grade grade` output directory (its results.jsonl is read).
        roster: the CSV exported from Canvas's gradebook.
        out: where to write the CSV to import.
        column: the gradebook column to fill, by its full header or its title without `(id)`; by default the
            column titled as the assignment. A name no column has adds a new column (a new Canvas assignment).
        mapping: a CSV with `student,login` rows when results' student names are not the SIS Login IDs.
    Returns:
        A CanvasFill naming who could not be matched.
    Raises:
        CanvasError: a missing file, no results, no SIS Login ID column, or a column title matching several.
    """
    results = _results(Path(out_dir) / "results.jsonl")
    logins = _mapping(Path(mapping)) if mapping else {}
    text = _read_text(Path(roster))
    bom, body = (BOM, text[1:]) if text.startswith(BOM) else ("", text)
    delimiter = _delimiter(body)
    records = _records(body, delimiter)
    header = [_value(body, span) for span in records[0]] if records else []
    if LOGIN not in header:
        raise CanvasError(f"{roster}: no {LOGIN!r} column; export the gradebook from Canvas (Grades → Export)")
    assignment = next(iter(results.values()))["assignment"]
    target = _target_column(header, column or assignment)
    scores = {logins.get(student, student): row for student, row in results.items()}
    edits: list[tuple[tuple[int, int], str]] = []
    matched, without = set(), []
    if target is None:  # a new assignment column, at the end of every row
        target_name = column or assignment
        edits.append(((records[0][-1][1],) * 2, delimiter + _quoted(target_name, delimiter)))
    for record in records[1:]:
        values = [_value(body, span) for span in record]
        login = values[header.index(LOGIN)] if len(values) > header.index(LOGIN) else ""
        if values[0].strip() == POINTS_POSSIBLE:
            cell = _number(next(iter(results.values()))["max_score"]) if target is None else None
        elif login in scores:
            cell = _number(scores[login]["score"])
            matched.add(login)
        else:
            cell = None
            if login:
                without.append(login)
        if target is None:
            edits.append(((record[-1][1],) * 2, delimiter + (cell or "")))
        elif cell is not None and target < len(record):
            edits.append((record[target], cell))
    Path(out).write_text(bom + _apply(body, edits), encoding="utf-8", newline="")
    missing = sorted(student for student, login in ((s, logins.get(s, s)) for s in results) if login not in matched)
    name = header[target] if target is not None else (column or assignment)
    return CanvasFill(name, len(matched), missing, sorted(without))


def _results(path: Path) -> dict[str, dict]:
    if not path.is_file():
        raise CanvasError(f"{path}: no such file (run `attn-grade grade ... --out {path.parent}` first)")
    rows = read_ledger(path)
    if not rows:
        raise CanvasError(f"{path}: no results")
    return rows


def _mapping(path: Path) -> dict[str, str]:
    """student → SIS Login ID from a `student,login` CSV (a header row with those names is optional)."""
    if not path.is_file():
        raise CanvasError(f"{path}: no such file")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if len(row) >= 2]
    return {student.strip(): login.strip() for student, login, *_ in rows if (student, login) != ("student", "login")}


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise CanvasError(f"{path}: no such file")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise CanvasError(f"{path}: not UTF-8 text; export the gradebook from Canvas again") from None


def _target_column(header: list[str], name: str) -> int | None:
    """The index of the column named `name` (full header, or title without its `(id)`), None when there is none."""
    if name in header:
        return header.index(name)
    titled = [i for i, h in enumerate(header) if (m := _WITH_ID.match(h)) and m["title"] == name]
    if len(titled) > 1:
        raise CanvasError(f"several columns are titled {name!r}: pass the full header, e.g. --column {header[titled[0]]!r}")
    return titled[0] if titled else None


def _delimiter(text: str) -> str:
    """Canvas writes `,` (or `;` or a tab, by the user's setting): whichever separates the first row's fields."""
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: len(next(csv.reader([first], delimiter=d), [])))


def _records(text: str, delimiter: str) -> list[list[tuple[int, int]]]:
    """Each CSV record of `text` as the (start, end) offsets of its raw fields (quotes and all)."""
    records, fields, start, i, quoted = [], [], 0, 0, False
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"':
                if text.startswith('""', i):
                    i += 1
                else:
                    quoted = False
        elif char == '"':
            quoted = True
        elif char == delimiter:
            fields.append((start, i))
            start = i + 1
        elif char in "\r\n":
            fields.append((start, i))
            records.append(fields)
            fields = []
            i += 2 if text.startswith("\r\n", i) else 1
            start = i
            continue
        i += 1
    if start < len(text) or fields:
        fields.append((start, len(text)))
        records.append(fields)
    return records


def _value(text: str, span: tuple[int, int]) -> str:
    raw = text[span[0]:span[1]]
    return raw[1:-1].replace('""', '"') if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw


def _quoted(value: str, delimiter: str) -> str:
    needs = any(c in value for c in (delimiter, '"', "\n", "\r"))
    return '"' + value.replace('"', '""') + '"' if needs else value


def _number(score: float) -> str:
    """A score as Canvas writes one: at most two decimals, no trailing zeros."""
    return f"{round(float(score), 2):g}"


def _apply(text: str, edits: list[tuple[tuple[int, int], str]]) -> str:
    """`text` with each span replaced (spans do not overlap); everything else unchanged."""
    out, at = [], 0
    for (start, end), new in sorted(edits, key=lambda e: e[0]):
        out += [text[at:start], new]
        at = end
    return "".join(out + [text[at:]])

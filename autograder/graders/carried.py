"""Which of the student's own graded functions an answer calls, read from the notebook: errors are carried forward
only through those (SPEC §5: a question whose function calls another graded function of the student's)."""
from __future__ import annotations

import ast
import functools


def own_helpers_called(student, answer: str, helpers: tuple[str, ...]) -> set[str]:
    """The `helpers` that the student's `answer` reaches: its body and, transitively, their own functions it names."""
    definitions = _definitions(tuple(cell.source for cell in student.sandbox.cells))
    reached, todo = set(), [answer]
    while todo:
        name = todo.pop()
        if name in reached or name not in definitions:
            continue
        reached.add(name)
        todo += [node.id for node in ast.walk(definitions[name]) if isinstance(node, ast.Name)]
    return reached & set(helpers)


@functools.lru_cache(maxsize=8)
def _definitions(sources: tuple[str, ...]) -> dict[str, ast.AST]:
    """Top-level functions and classes of the notebook by name (a later definition wins, as when the cells run)."""
    found = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a cell that does not parse defines nothing
            continue
        found |= {node.name: node for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return found

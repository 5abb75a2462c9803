"""A static scan of a whole notebook: which of torch's attention an answer's code refers to, names resolved.

Pure `ast`, no torch. The cells' top-level definitions, assignments and imports are read in order (a later one
wins, as when the cells run); an answer reaches its own body and, transitively, the student's own functions,
classes (with their methods) and assigned values it names, across cells. A def or class of the student's own
that merely shares a name with torch's attention is theirs.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from autograder.submission.notebook import Cell

ATTENTION = "attention"
"""A name rooted at `torch` with this in one of its parts is torch's attention: F.scaled_dot_product_attention,
nn.MultiheadAttention, F.multi_head_attention_forward, torch.ops.aten._scaled_dot_product_attention_math…"""
DYNAMIC_BUILTINS = ("eval", "exec", "compile", "__import__", "globals")
DYNAMIC_MODULES = ("importlib", "builtins", "sys.modules")
NAME_BUILTINS = ("getattr", "setattr", "delattr")
MAX_ALIAS_DEPTH = 10


@dataclass(frozen=True)
class Binding:
    """What a top-level name means after the cells ran: an import (`module`), or code of the student's own
    (a def, a class, or the value assigned to it) in `cell`."""

    cell: int
    module: str = ""
    code: ast.AST | None = None
    order: int = 0
    """Position among the notebook's top-level statements (cells in order)."""


LOCAL = Binding(-1)
"""A name bound inside the reached code itself (a parameter, a local variable): nothing to follow."""


@dataclass
class Reach:
    """What an answer's code (and what it calls) refers to."""

    forbidden: list[str] = field(default_factory=list)
    """torch's attention by its full name (e.g. torch.nn.functional.scaled_dot_product_attention)."""
    dynamic: list[tuple[int, str]] = field(default_factory=list)
    """(cell, construct): code built or looked up at run time (exec, getattr with a computed name…)."""


def scan_answer(cells: list[Cell], answer: str) -> Reach:
    """What the code reached from the top-level name `answer` refers to, across `cells` (run in order)."""
    table, stars, statements = _bindings(cells)
    reach, done = Reach(), set()
    todo = [table[answer]] if answer in table else []
    defined_at = table[answer].order if answer in table else -1
    if answer in table and is_torch_attention(table[answer].module):  # the answer *is* torch's, imported
        reach.forbidden.append(table[answer].module)
    for order, cell, statement in statements:  # run after the answer was defined (or instead): may redefine it
        if order > defined_at and not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = _Scope(table, stars, {})
            for found in (f for node in ast.walk(statement) for f in scope.refers_to(node)):
                if isinstance(found, str) and found.startswith("dynamic:"):
                    _add(reach.dynamic, (cell, found.removeprefix("dynamic:")))
    while todo:
        binding = todo.pop()
        if binding.code is None or id(binding.code) in done:
            continue
        done.add(id(binding.code))
        scope = _Scope(table, stars, _local_names(binding.code))
        for node in ast.walk(binding.code):
            for found in scope.refers_to(node):
                if isinstance(found, Binding):
                    todo.append(found)
                elif found.startswith("dynamic:"):
                    _add(reach.dynamic, (binding.cell, found.removeprefix("dynamic:")))
                else:
                    _add(reach.forbidden, found)
    return reach


def is_torch_attention(qualified: str) -> bool:
    """Is this full name one of torch's attention functions, modules or kernels?"""
    parts = qualified.split(".")
    return parts[0] == "torch" and any(ATTENTION in part.lower() for part in parts[1:])


# ---------------------------------------------------------------- top-level names

def _bindings(cells: list[Cell]) -> tuple[dict[str, Binding], list[str], list[tuple[int, int, ast.stmt]]]:
    """Every top-level name's final meaning, the modules star-imported from, and the top-level statements
    as (order, cell, statement)."""
    table: dict[str, Binding] = {}
    stars: list[str] = []
    statements = []
    for cell in cells:
        tree = _parse(cell.source)
        for statement in tree.body if tree else []:
            statements.append((len(statements), cell.index, statement))
            _bind(statement, cell.index, table, stars, len(statements) - 1)
    return table, stars, statements


def _bind(node: ast.stmt, cell: int, table: dict, stars: list, order: int) -> None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        table[node.name] = Binding(cell, code=node, order=order)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for name, module in _imported(node):
            if name == "*":
                stars.append(module)
            else:
                table[name] = Binding(cell, module=module, order=order)
    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for name in (n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)):
            table[name] = Binding(cell, code=node.value, order=order)
    elif isinstance(node, ast.Delete):
        for name in (n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)):
            table.pop(name, None)
    else:  # if / for / while / with / try at top level: their bodies bind top-level names too
        for target, value in _block_targets(node):
            table[target] = Binding(cell, code=value, order=order)
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            for child in getattr(node, field_name, []) or []:
                for inner in child.body if isinstance(child, ast.ExceptHandler) else [child]:
                    if isinstance(inner, ast.stmt):
                        _bind(inner, cell, table, stars, order)


def _block_targets(node: ast.stmt):
    if isinstance(node, (ast.For, ast.AsyncFor)):
        yield from ((n.id, node.iter) for n in ast.walk(node.target) if isinstance(n, ast.Name))
    if isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                yield from ((n.id, item.context_expr) for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name))


def _imported(node: ast.Import | ast.ImportFrom):
    """(bound name, full module or object name) for each alias of an import statement."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield (alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0], alias.name.split(".")[0])
    elif node.module and not node.level:
        for alias in node.names:
            yield (alias.asname or alias.name, node.module if alias.name == "*" else f"{node.module}.{alias.name}")


def _local_names(code: ast.AST) -> dict[str, Binding]:
    """Names bound inside a def, class or lambda (parameters, assignments, nested defs) are its own, opaque;
    imports inside it keep their module."""
    if not isinstance(code, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return {}
    local: dict[str, Binding] = {}
    for node in ast.walk(code):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            local.update((a.arg, LOCAL) for a in _arguments(node.args))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            local.update((name, Binding(-1, module=module)) for name, module in _imported(node) if name != "*")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            local.setdefault(node.id, LOCAL)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not code:
            local.setdefault(node.name, LOCAL)
    return local


def _arguments(args: ast.arguments) -> list[ast.arg]:
    return args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]


# ---------------------------------------------------------------- references in reached code

class _Scope:
    """Resolves the names used in one piece of reached code: its own names first, then the notebook's."""

    def __init__(self, table: dict[str, Binding], stars: list[str], local: dict[str, Binding]):
        self.table, self.stars, self.local = table, stars, local

    def refers_to(self, node: ast.AST):
        """For one AST node: student code it reaches (Binding), torch attention it names, 'dynamic:' constructs."""
        if isinstance(node, ast.Attribute) and node.attr == "__wrapped__":
            yield "dynamic:__wrapped__"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and self._is_builtin(node.func.id):
            if node.func.id in DYNAMIC_BUILTINS:
                yield f"dynamic:{node.func.id}()"
            elif node.func.id in NAME_BUILTINS and (len(node.args) < 2 or not _literal(node.args[1])):
                yield f"dynamic:{node.func.id} with a computed name"
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            binding = self._lookup(node.id)
            if binding is not None and binding.code is not None:
                yield binding
        chain = _chain(node)
        if chain:
            qualified = self.qualify(chain)
            if qualified and is_torch_attention(qualified):
                yield qualified
            elif _is_dynamic_module(qualified) and not (chain[1:] and _is_dynamic_module(self.qualify(chain[:-1]))):
                yield f"dynamic:{qualified}"  # named once, at its shortest: `importlib`, not also `importlib.x`

    def qualify(self, chain: list[str], depth: int = 0) -> str:
        """The full name `chain` stands for when its root is an import (or an alias of one); '' otherwise."""
        root, rest = chain[0], chain[1:]
        binding = self._lookup(root)
        if binding is None:  # not bound by the notebook: a star import may have bound it
            starred = (".".join([module, *chain]) for module in self.stars)
            return next((name for name in starred if is_torch_attention(name)), "")
        if binding.module:
            return ".".join([binding.module, *rest])
        alias = _chain(binding.code) if binding.code is not None else None
        return self.qualify(alias + rest, depth + 1) if alias and depth < MAX_ALIAS_DEPTH else ""

    def _lookup(self, name: str) -> Binding | None:
        return self.local[name] if name in self.local else self.table.get(name)

    def _is_builtin(self, name: str) -> bool:
        return name not in self.local and name not in self.table


def _chain(node: ast.AST) -> list[str] | None:
    """`a.b.c`, `getattr(a.b, "c")` and `a.b.__dict__["c"]` as ['a', 'b', 'c']; None for anything else."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        base = _chain(node.value)
        return base + [node.attr] if base else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) >= 2 and _literal(node.args[1])):
        base = _chain(node.args[0])
        return base + [node.args[1].value] if base else None
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "__dict__" and _literal(node.slice)):
        base = _chain(node.value.value)
        return base + [node.slice.value] if base else None
    return None


def _is_dynamic_module(qualified: str) -> bool:
    return any(qualified == m or qualified.startswith(m + ".") for m in DYNAMIC_MODULES)


def _literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _parse(source: str) -> ast.Module | None:
    """A cell's source (plain Python: its IPython syntax is translated when the notebook is read); None if it
    cannot parse."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _add(found: list, item) -> None:
    if item not in found:
        found.append(item)

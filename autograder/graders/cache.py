"""The key's reference results on disk: computed once per probe set, then read by every later grading process.

A reference is what the key returns for fixed inputs (e.g. the BERT's attention for a sentence). The first grading
process to need one computes the function's whole probe set and writes it to
`$XDG_CACHE_HOME/attn-grade/references/` (default `~/.cache/attn-grade/references/`); later ones read it instead of
loading the model. Plain data only (JSON with tensors as raw bytes, wire.py), never pickle; the file name carries a
fingerprint of the key's and the graders' code (and of what the function declares it depends on, e.g. the model's
files), so changed code never reads an old file; files are written atomically, so two writers both leave a whole one.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from pathlib import Path

from autograder.files import PROJECT, write_atomically
from autograder.sandbox.inside import wire

REFERENCE_CODE = ("assignments", "autograder/graders", "autograder/sandbox/inside/wire.py")
"""The code whose change makes every stored reference stale."""
_REGISTERED: list = []


def cache_home() -> Path:
    """This user's cache folder for attn-grade (`$XDG_CACHE_HOME/attn-grade`, else `~/.cache/attn-grade`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "attn-grade"


@functools.cache
def code_fingerprint(entries: tuple[str, ...] = REFERENCE_CODE) -> str:
    """A hash of the project's Python files under `entries` (paths relative to the project root)."""
    digest = hashlib.sha256()
    for entry in entries:
        path = PROJECT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(PROJECT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def files_fingerprint(folder: str | Path) -> str:
    """What identifies a folder's files cheaply (each one's path, size and modification time), or the name alone."""
    folder = Path(folder)
    entries = sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                     for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    return f"{folder}:{entries}"


def reference(probes, depends_on=lambda: ""):
    """Decorate a key function of plain arguments: its results are memoised, and those of `probes` kept on disk.

    Args:
        probes: the argument tuples the graders call it with; all are computed (and stored) together, once.
        depends_on: a callable naming what else the results depend on (e.g. the model's files).
    """
    def decorate(function):
        stored = Reference(function, [tuple(args) for args in probes], depends_on)
        _REGISTERED.append(stored)
        return functools.wraps(function)(stored)
    return decorate


def load_references() -> None:
    """Read (or compute and store) the probe set of every reference function imported so far."""
    for stored in list(_REGISTERED):
        stored.load()


class Reference:
    """One key function's results: in memory, and its probe set in one file of the cache."""

    def __init__(self, function, probes: list[tuple], depends_on):
        self.function, self.probes, self.depends_on = function, probes, depends_on
        self.values: dict[tuple, object] = {}
        self._lock = threading.Lock()  # warm batch workers are threads: one computes, the others wait and read

    def __call__(self, *args):
        if args not in self.values:
            if args in self.probes:
                self.load()
            else:
                with self._lock:
                    if args not in self.values:
                        self.values[args] = self.function(*args)
        return self.values[args]

    def load(self) -> None:
        """Fill the probe set from its file, or compute it and write the file."""
        with self._lock:
            if all(args in self.values for args in self.probes):
                return
            path = self.path()
            found = _read(path)
            if found is None or set(found) != set(self.probes):
                found = {args: self.function(*args) for args in self.probes}
                _write(path, found)
            self.values.update(found)

    def path(self) -> Path:
        """Where this probe set is stored: the function's name and a hash of code, dependencies and probes."""
        name = f"{self.function.__module__}.{self.function.__qualname__}"
        digest = hashlib.sha256(json.dumps([code_fingerprint(), str(self.depends_on()), name,
                                            wire.encode(self.probes)]).encode()).hexdigest()[:16]
        return cache_home() / "references" / f"{name}.{digest}.json"


def _read(path: Path) -> dict[tuple, object] | None:
    """The probe set stored at `path`; None when it is missing or not what this code writes."""
    try:
        return {tuple(wire.decode(args)): wire.decode(value) for args, value in json.loads(path.read_bytes())}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write(path: Path, values: dict[tuple, object]) -> None:
    """Store a probe set (in a folder only its owner can enter) and drop the function's stale ones; a cache that
    cannot be written only makes grading slower."""
    try:
        path.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        write_atomically(path, json.dumps([[wire.encode(list(args)), wire.encode(value)]
                                           for args, value in values.items()]))
        for stale in path.parent.glob(f"{path.name.rsplit('.', 2)[0]}.*.json"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        pass

"""Typed comparisons of a student's value with the key's; each failure says what is wrong, never the expected value."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

import torch

from assignments.mistakes import MISTAKES
from autograder.graders import texts
from autograder.graders.diagnosis import diagnose
from autograder.graders.framework import CheckFailed
from autograder.sandbox.inside.wire import Figure, Opaque


def as_tensor(value, what: str, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The student's value as a tensor (lists, tuples and arrays accepted); CheckFailed `wrong-type` otherwise.

    Args:
        value: what came back from the sandbox.
        what: how the student knows this value, e.g. "weights" or "`ex1_scores`".
        dtype: convert to this dtype after the type check (for hand-typed numbers).
    """
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if dtype is not None else value
    if isinstance(value, (list, tuple, int, float)) and not isinstance(value, bool):
        try:
            return torch.tensor(_plain_numbers(value), dtype=dtype or torch.float64)
        except (TypeError, ValueError):
            pass
    raise CheckFailed(texts.NOT_NUMBERS.format(what=what, got=_type_name(value)), ["wrong-type"])


def expect_pair(value, what: str, names: str = "output, weights") -> tuple:
    """A function that must return two values, e.g. `(output, weights)`: check it is a pair and return it."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailed(texts.NOT_A_PAIR.format(what=what, names=names, got=_type_name(value)), ["wrong-type"])
    return tuple(value)


def expect_shape(tensor: torch.Tensor, shape: tuple, what: str) -> None:
    """CheckFailed `wrong-shape` unless the shapes match (shapes are part of the task statement, so they may be shown)."""
    if tuple(tensor.shape) != tuple(shape):
        raise CheckFailed(texts.WRONG_SHAPE.format(what=what, shape=list(shape), got=list(tensor.shape)),
                          ["wrong-shape"])


def expect_finite(tensor: torch.Tensor, what: str, mistakes=()) -> None:
    """CheckFailed unless every entry is finite (no NaN, no inf)."""
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        raise CheckFailed(texts.NOT_FINITE.format(what=what), list(mistakes))


def expect_close(got, want: torch.Tensor, what: str, *, atol: float = 1e-5, rtol: float = 1e-4,
                 variants: Mapping[str, object] | None = None, context: dict | None = None) -> torch.Tensor:
    """Compare a student's tensor with the key's within |got − want| ≤ atol + rtol·|want|.

    Args:
        got: the student's value (converted with `as_tensor`).
        want: the key's value on the same input.
        what: the name the student knows, used in the message.
        variants: mistake id → the output of that buggy variant on the same input, for diagnosis.
        context: extra facts for signature diagnosis (e.g. {"d_k": 64, "scores": tensor}).
    Returns:
        `got` as a float64 tensor.
    Raises:
        CheckFailed: naming the diagnosed mistakes; the message never contains `want`'s values.
    """
    got = as_tensor(got, what)
    expect_shape(got, tuple(want.shape), what)
    got64, want64 = got.to(torch.float64), want.to(torch.float64)
    if torch.allclose(got64, want64, atol=atol, rtol=rtol, equal_nan=False):
        return got64
    mistakes = diagnose(got64, want64, variants or {}, atol=atol, rtol=rtol, context=context or {})
    bad = (~torch.isclose(got64, want64, atol=atol, rtol=rtol)).nonzero()
    nan = " (NaN)" if torch.isnan(got64).any() else ""
    if got64.dim() == 0:
        raise CheckFailed(texts.DIFFERS.format(what=what, nan=nan), mistakes)
    where = bad[0].tolist() if len(bad) else []
    raise CheckFailed(texts.DIFFERS_AT.format(what=what, nan=nan, count=len(bad), where=where), mistakes)


def expect_equal(got, want, what: str, *, variants: Mapping[str, object] | None = None) -> None:
    """Exact equality of plain values (str, int, tuples of them); diagnose by matching variant outputs."""
    if got == want and type(got) is type(want) or _same_sequence(got, want):
        return
    mistakes = [m for m, v in (variants or {}).items() if got == v or _same_sequence(got, v)]
    raise CheckFailed(texts.NOT_RIGHT.format(what=what), mistakes)


def expect_letter(got, quiz) -> None:
    """A quiz answer: one letter among the options, in either case, full-width or not, bracketed or followed by a
    stop ("c", " C ", "(C)", "C.", "（Ｃ）"); wrong letters get that option's feedback."""
    lone = re.fullmatch(r"\W*([A-Za-z])\W*", unicodedata.normalize("NFKC", got)) if isinstance(got, str) else None
    letter = lone.group(1).upper() if lone else None
    if letter not in quiz.options:
        raise CheckFailed(texts.NOT_A_LETTER.format(letters="/".join(quiz.options), got=got), ["wrong-type"])
    if letter != quiz.answer:
        raise CheckFailed(quiz.feedback[letter])


def variant_outputs(variants: Mapping[str, Callable], *args, pick: Callable = lambda out: out) -> Mapping:
    """Each buggy variant's output on the same inputs (what `pick` selects; variants that fail are left out), run
    only when first read: a check that passes never diagnoses, so it never pays for them."""
    return _VariantOutputs(variants, args, pick)


class _VariantOutputs(Mapping):
    """`variant_outputs`' mapping: mistake id → output, computed on first use (the inputs are the grader's own)."""

    def __init__(self, variants: Mapping[str, Callable], args: tuple, pick: Callable):
        self._variants, self._args, self._pick = variants, args, pick
        self._outputs: dict | None = None

    def _computed(self) -> dict:
        if self._outputs is None:
            self._outputs = {}
            for mistake, func in self._variants.items():
                try:
                    self._outputs[mistake] = self._pick(func(*self._args))
                except Exception:  # a buggy variant may legitimately fail on some inputs
                    continue
        return self._outputs

    def __getitem__(self, mistake: str):
        return self._computed()[mistake]

    def __iter__(self):
        return iter(self._computed())

    def __len__(self) -> int:
        return len(self._computed())


def expect_own_attention(student, name: str, *args) -> None:
    """Call the student's `name(*args)`; CheckFailed `forbidden-api` (the whole question scores 0) if torch's own
    attention ran during any call of it or its code reaches it (SPEC §5)."""
    student.call(name, *args)
    if student.uses_forbidden_api(name):
        raise CheckFailed(MISTAKES["forbidden-api"], ["forbidden-api"], zero_question=True)


def expect_figure(value, what: str) -> Figure:
    """The student's value must be a matplotlib Figure."""
    if not isinstance(value, Figure):
        raise CheckFailed(texts.NOT_A_FIGURE.format(what=what, got=_type_name(value)), ["wrong-type"])
    return value


def _plain_numbers(value):
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number")
    return value


def _same_sequence(a, b) -> bool:
    return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and list(a) == list(b)


def _type_name(value) -> str:
    if isinstance(value, Opaque):
        return value.type_name
    if isinstance(value, torch.Tensor):
        return f"tensor{list(value.shape)}"
    return type(value).__name__

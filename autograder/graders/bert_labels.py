"""classify_head for the `bert_heads` graders: hand-made heads, the rule on the student's own helpers, the gate."""
from __future__ import annotations

import math

import torch

from assignments.quiz import Text
from autograder.graders import texts
from autograder.graders.bert_probes import TOKENS
from autograder.graders.carried import own_helpers_called
from autograder.graders.checks import as_tensor, expect_equal, variant_outputs
from autograder.graders.framework import CarriedForward, CheckFailed
from autograder.probes import StudentFailure

KINDS = ["previous", "next", "self", "cls", "sep", "punct", "broad", "mixed"]
MARGIN = 1e-3
"""How close to a threshold or a tie a number may be before rounding could decide the label."""
PUNCT_TARGETS = [".", ","]


def hand_made_head(kind: str) -> torch.Tensor:
    """A hand-made head [L, L] over TOKENS: 20 % spread evenly, 80 % on the keys that make the pattern."""
    L = len(TOKENS)
    if kind == "broad":
        return torch.full((L, L), 1 / L)
    head = torch.full((L, L), 0.2 / L)
    for i in range(L):
        keys = {"previous": [max(i - 1, 0)], "next": [min(i + 1, L - 1)], "self": [i], "cls": [0],
                "sep": [L - 1], "punct": [3, 6], "mixed": [2, 5]}[kind]
        head[i, keys] += 0.8 / len(keys)
    return head


def classify_all(student, key, cases: list[tuple]) -> None:
    """Compare the student's label of each (head, tokens, what) with the key's.

    A label that is what the rule gives on the student's own helper values (head_entropy, offset_attention,
    token_attention) counts as right (error carried forward); then the check passes with a note naming the helpers.
    """
    carried: set[str] = set()
    for head, tokens, what in cases:
        got = student.call("classify_head", head, tokens)
        if not isinstance(got, str):
            raise CheckFailed(texts.LABEL_NOT_A_STR, ["wrong-type"])
        want = key.classify_head(head, tokens)
        if got == want:
            continue
        labels, wrong = own_labels(student, key, head, tokens)
        if wrong and got in labels:
            carried |= wrong
            continue
        expect_equal(got, want, f"`classify_head` ({what})",
                     variants=variant_outputs(key.VARIANTS["classify_head"], head, tokens))
    if carried:
        names = [f"`{n}`" for n in sorted(carried)]
        raise CarriedForward(texts.LABELS_CARRIED.format(helpers=Text("、".join(names), ", ".join(names))))


def own_labels(student, key, head: torch.Tensor, tokens: list[str]) -> tuple[set[str], set[str]]:
    """The labels the rule gives on the values of the helpers the student's classify_head calls (every label rounding
    could give), and those helpers whose values differ from the key's; (set(), set()) when such a helper fails or
    returns no single number."""
    called = own_helpers_called(student, "classify_head", ("head_entropy", "offset_attention", "token_attention"))
    if not called:
        return set(), set()
    calls = {name: ("offset_attention", (head, offset)) for name, offset in key.POSITIONAL.items()}
    calls |= {name: ("token_attention", (head, tokens, targets if isinstance(targets, str) else PUNCT_TARGETS))
              for name, targets in key.SPECIAL.items()}
    calls["entropy"] = ("head_entropy", (head,))
    theirs, wrong = {}, set()
    for measure, (helper, args) in calls.items():
        try:
            value = as_tensor(student.call(helper, *args) if helper in called else getattr(key, helper)(*args),
                              f"`{helper}`")
        except (StudentFailure, CheckFailed):
            return set(), set()
        if value.numel() != 1 or not math.isfinite(float(value)):
            return set(), set()
        theirs[measure] = float(value)
        if not math.isclose(theirs[measure], float(getattr(key, helper)(*args)), rel_tol=1e-4, abs_tol=1e-6):
            wrong.add(helper)
    entropy = theirs.pop("entropy")
    labels = {key.label_from_measures(theirs, entropy, len(tokens))}
    for measure in [*theirs, "entropy"]:                # a number within MARGIN of a threshold may go either way
        for nudge in (-MARGIN, MARGIN):
            shares = {m: v + (nudge if m == measure else 0.0) for m, v in theirs.items()}
            scaled = entropy + (nudge * math.log(len(tokens)) if measure == "entropy" else 0.0)
            labels.add(key.label_from_measures(shares, scaled, len(tokens)))
    return labels, wrong


def decisive(key, head: torch.Tensor, tokens: list[str], margin: float = MARGIN) -> bool:
    """True when no rounding can change the key's label: every deciding number is clear of thresholds and ties."""
    positional = sorted((float(key.offset_attention(head, o)) for o in (-1, 1, 0)), reverse=True)
    special = sorted((float(key.token_attention(head, tokens, t)) for t in ("[CLS]", "[SEP]", key.PUNCT)),
                     reverse=True)
    broad = float(key.head_entropy(head)) / math.log(len(tokens))
    return (abs(positional[0] - key.POSITIONAL_MIN) > margin and abs(special[0] - key.SPECIAL_MIN) > margin
            and abs(broad - key.BROAD_MIN) > margin
            and positional[0] - positional[1] > margin and special[0] - special[1] > margin)


def gate_classify(student) -> None:
    """The validity gate: each hand-made head gets one of the eight labels, and not all the same one."""
    labels = [student.call("classify_head", hand_made_head(kind), TOKENS) for kind in KINDS]
    odd = next((label for label in labels if label not in KINDS), None)
    if odd is not None:
        raise CheckFailed(texts.NOT_A_LABEL.format(got=odd))
    if len(set(labels)) == 1:
        raise CheckFailed(texts.SAME_LABEL_FOR_EVERY_HEAD.format(got=labels[0]))

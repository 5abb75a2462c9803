"""Do NumPy scalars, 0-d arrays and Python numbers cross the wire with the shape the student gave them?"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.check import check
from autograder.sandbox.inside import wire
from support.notebooks import make_submission, source_notebook


@pytest.mark.parametrize("value, dtype", [
    (np.float32(0.3), torch.float32), (np.float64(0.3), None), (np.int64(3), torch.int64),
    (np.array(2.5), torch.float64), (np.bool_(True), torch.bool), (torch.tensor(0.5), torch.float32),
])
def test_scalars_come_back_with_shape_empty(value, dtype):
    """Is a NumPy scalar or 0-d array (or 0-d tensor) shape [] on the grader's side, not [1]?"""
    back = wire.decode(wire.loads(wire.dumps({"v": wire.encode(value)}))["v"])
    if dtype is None:  # np.float64 is a Python float: it stays one
        assert back == pytest.approx(0.3)
    else:
        assert isinstance(back, torch.Tensor) and back.shape == () and back.dtype == dtype
        assert back.item() == pytest.approx(float(value))


def test_arrays_keep_their_shape_and_python_numbers_stay_numbers():
    """Do strided arrays keep their shape, and Python ints and floats cross as themselves?"""
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]
    assert wire.decode(wire.encode(strided)).tolist() == strided.tolist()
    assert wire.decode(wire.encode(3)) == 3 and wire.decode(wire.encode(0.25)) == 0.25


NUMPY_OFFSET = '''import numpy as np
def offset_attention(attn, offset):
    a = np.asarray(attn, dtype=np.float32)
    L = a.shape[-1]
    if a.ndim == 2:                                   # one head: a NumPy scalar
        return np.float32(sum(a[i, i + offset] for i in range(L) if 0 <= i + offset < L) / L)
    return np.diagonal(a, offset=offset, axis1=-2, axis2=-1).sum(-1) / L
'''


@pytest.mark.slow
def test_offset_attention_returning_a_numpy_scalar_gets_full_marks(tmp_path):
    """Does a port that returns np.float32 for one head's [L, L] map get offset_attention's full marks?"""
    notebook = make_submission(source_notebook("bert_heads"), tmp_path / "numpy" / "bert_heads.ipynb",
                               replace={"answer_offset_attention": NUMPY_OFFSET})
    q = check(notebook, warm=True).question("offset_attention")
    assert q.score == q.max_score, (q.score, q.feedback)

"""Plain-data wire format between grader and sandbox: JSON with tensors as raw little-endian bytes (never pickle).

This file is copied into the sandbox beside `runner.py`, so it imports only the standard library at module
level; NumPy and torch are imported where tensors are encoded or decoded.
"""
from __future__ import annotations

import base64
import json
import math

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 8
MAX_ITEMS = 10_000
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
ACCEPTED_RESULTS = (
    "a torch.Tensor (real or bool dtype; requires_grad, a GPU or a view are fine: it is detached and copied)",
    "a NumPy array or NumPy scalar (np.float32(0.3), np.int64(2) and 0-d arrays have shape [])",
    "a Python int or float (shape [])",
    "a (nested) list or tuple of numbers",
)
"""Where a question expects a tensor, these are accepted alike (the one list the notebooks and README refer to);
a pair of results is a tuple or list of two of them. Anything else is `wrong-type`."""


class WireError(ValueError):
    """A message or value that does not follow the wire format."""


def dumps(message: dict) -> bytes:
    """One protocol message as a single JSON line."""
    return json.dumps(message, allow_nan=True, ensure_ascii=True).encode() + b"\n"


def loads(line: bytes) -> dict:
    """Parse one protocol line; raises WireError on anything that is not a JSON object."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise WireError("message too large")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"invalid JSON from the sandbox: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("a protocol message must be a JSON object")
    return message


# ---------------------------------------------------------------- encoding (both sides)

def encode(value, depth: int = 0):
    """Turn a Python value into plain JSON-able data; tensors and arrays become raw bytes with dtype and shape."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if _is_tensor(value):
        return _encode_tensor(value)
    if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        return _encode_array(value)
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise WireError("sequence too long")
        items = [encode(v, depth + 1) for v in value]
        return {"$tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise WireError("dict too large")
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(v, depth + 1) for v in list(value)[:MAX_ITEMS]]}
    if _is_figure(value):
        return {"$figure": _describe_figure(value)}
    return {"$object": f"{type(value).__module__}.{type(value).__qualname__}"}


def _is_tensor(value) -> bool:
    import sys
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_figure(value) -> bool:
    import sys
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(value, figure.Figure)


def _encode_tensor(tensor) -> dict:
    import torch
    plain = torch.Tensor.detach(tensor)
    plain = torch.Tensor.cpu(plain)
    if plain.is_complex() or plain.is_quantized or plain.layout != torch.strided:
        raise WireError(f"unsupported tensor kind {plain.dtype} / {plain.layout}")
    dtype = str(plain.dtype).replace("torch.", "")
    if dtype == "bfloat16":
        plain = plain.to(torch.float32)
    array = plain.contiguous().numpy()
    return {"$tensor": {"dtype": dtype, "shape": list(array.shape), "data": _b64(array), "kind": "torch"}}


def _encode_array(array) -> dict:
    import numpy as np
    array = np.asarray(array)
    if array.dtype.name not in DTYPES:
        if array.dtype.kind in "iuf":
            array = array.astype(np.float64)
        else:
            return {"$object": f"numpy.ndarray[{array.dtype}]"}
    array = np.ascontiguousarray(array).reshape(array.shape)  # ascontiguousarray makes a 0-d array 1-d
    return {"$tensor": {"dtype": array.dtype.name, "shape": list(array.shape), "data": _b64(array), "kind": "numpy"}}


def _b64(array) -> str:
    return base64.b64encode(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()).decode()


def _describe_figure(fig) -> dict:
    """What a grader needs to know about a matplotlib Figure, as plain data."""
    axes = []
    for ax in fig.axes:
        images = [img.get_array() for img in ax.get_images()]
        images += [mesh.get_array() for mesh in ax.collections if type(mesh).__name__ == "QuadMesh"]
        axes.append({
            "title": " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t),
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xticklabels": [t.get_text() for t in ax.get_xticklabels()],
            "yticklabels": [t.get_text() for t in ax.get_yticklabels()],
            "yinverted": bool(ax.yaxis_inverted()),
            "images": [_encode_array(__import__("numpy").ma.getdata(im)) for im in images if im is not None],
            "is_colorbar": hasattr(ax, "_colorbar"),
        })
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    return {"axes": axes, "suptitle": suptitle}


# ---------------------------------------------------------------- decoding (grader side)

def decode(data, depth: int = 0):
    """Rebuild plain Python values from wire data: tensors come back as fresh torch tensors owned by the grader."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, depth + 1) for v in data[:MAX_ITEMS]]
    if not isinstance(data, dict) or len(data) != 1:
        raise WireError("unexpected value on the wire")
    (tag, body), = data.items()
    if tag == "$tensor":
        return decode_tensor(body)
    if tag == "$tuple":
        return tuple(decode(v, depth + 1) for v in _as_list(body))
    if tag == "$set":
        return frozenset(_hashable(decode(v, depth + 1)) for v in _as_list(body))
    if tag == "$dict":
        return {_hashable(decode(k, depth + 1)): decode(v, depth + 1) for k, v in _as_list(body)}
    if tag == "$figure":
        return Figure(body)
    if tag == "$object":
        return Opaque(str(body))
    raise WireError(f"unknown tag {tag!r}")


def decode_tensor(body: dict):
    """Validate dtype, shape and byte length, then build a plain tensor from the raw bytes."""
    import numpy as np
    import torch
    dtype, shape = body.get("dtype"), body.get("shape")
    if dtype not in DTYPES or not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise WireError("malformed tensor header")
    raw = base64.b64decode(body.get("data", ""), validate=True)
    np_dtype = np.dtype("float32" if dtype == "bfloat16" else dtype).newbyteorder("<")
    if len(raw) != math.prod(shape) * np_dtype.itemsize:
        raise WireError("tensor byte length does not match its shape")
    array = np.frombuffer(raw, dtype=np_dtype).astype(np_dtype.newbyteorder("="), copy=True).reshape(shape)
    tensor = torch.from_numpy(array)
    return tensor.to(torch.bfloat16) if dtype == "bfloat16" else tensor


def _hashable(value):
    if value is None or isinstance(value, (bool, int, float, str, tuple)):
        return value
    raise WireError("unhashable set member or dict key")


def _as_list(body) -> list:
    if not isinstance(body, list):
        raise WireError("malformed container")
    return body


class Opaque:
    """A value the sandbox could not turn into plain data; only its type name crosses."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


class Figure:
    """A matplotlib Figure described as plain data: per axes, title, labels, tick labels, images, colour bar."""

    def __init__(self, body: dict):
        if not isinstance(body, dict) or not isinstance(body.get("axes"), list):
            raise WireError("malformed figure")
        self.suptitle = str(body.get("suptitle", ""))
        self.axes = [dict(ax, images=[decode_tensor(im["$tensor"]) for im in ax.get("images", [])])
                     for ax in body["axes"]]

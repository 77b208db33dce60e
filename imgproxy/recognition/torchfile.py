"""Reading a PyTorch state dict saved in the legacy (pre-1.6) format, without PyTorch."""

from __future__ import annotations

import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

STORAGE_TYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
}


@dataclass(frozen=True)
class _TensorRef:
    storage: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(
    storage: str, offset: int, shape: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> _TensorRef:
    return _TensorRef(storage, offset, tuple(shape), tuple(stride))


class _StateUnpickler(pickle.Unpickler):
    """Resolves only what a state dict needs; any other global is refused, so the file cannot
    run code."""

    def __init__(self, file: BinaryIO, kinds: dict[str, str]) -> None:
        super().__init__(file)
        self.kinds = kinds

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_TYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> str:
        _, kind, key, _location, _size, _view = pid
        self.kinds[key] = kind
        return key


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Tensor name -> array, for a file written by torch.save(..., _use_new_zipfile=False)."""
    with path.open("rb") as fh:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(fh)
        kinds: dict[str, str] = {}
        state = _StateUnpickler(fh, kinds).load()
        keys = pickle.load(fh)
        storages = {}
        for key in keys:
            (count,) = struct.unpack("<q", fh.read(8))
            dtype = np.dtype(STORAGE_TYPES[kinds[key]])
            storages[key] = np.frombuffer(fh.read(count * dtype.itemsize), dtype=dtype)
    return {name: _tensor(ref, storages) for name, ref in state.items()}


def _tensor(ref: _TensorRef, storages: dict[str, np.ndarray]) -> np.ndarray:
    data = storages[ref.storage]
    if not ref.shape:
        return data[ref.offset : ref.offset + 1].reshape(())
    strides = tuple(s * data.itemsize for s in ref.stride)
    view = np.lib.stride_tricks.as_strided(data[ref.offset :], shape=ref.shape, strides=strides)
    return np.array(view)

"""Reads and writes safetensors files for the fixture scripts, with numpy alone.

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
N bytes of JSON — an optional "__metadata__" object of strings, then per tensor its dtype, shape
and [begin, end) byte offsets into the data that follows — padded with spaces to a multiple of 8,
then each tensor's little-endian bytes in C order, one after another. Written here with the
metadata first and the tensors in the order given, compact JSON, no gaps: what ConvZoo's own
writer writes, so that a fixture's bytes depend on its numbers alone.
"""

import json
import os
import struct
from collections import OrderedDict

import numpy as np

DTYPES = OrderedDict([  # safetensors name -> numpy dtype (little-endian)
    ("BOOL", np.dtype(np.bool_)), ("U8", np.dtype(np.uint8)), ("I8", np.dtype(np.int8)), ("I16", np.dtype("<i2")),
    ("I32", np.dtype("<i4")), ("I64", np.dtype("<i8")), ("F16", np.dtype("<f2")), ("F32", np.dtype("<f4")),
    ("F64", np.dtype("<f8")),
])
NAME_OF = {dtype: name for name, dtype in DTYPES.items()}


def write(path, tensors, metadata=None):
    """tensors: (name, array) pairs, or a mapping name -> array, in file order; metadata values become
    strings. Written to a temporary file and moved into place, so a failed run leaves no half file."""
    pairs = list(tensors.items()) if hasattr(tensors, "items") else list(tensors)
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, array in pairs:
        if name == "__metadata__":
            raise ValueError("'__metadata__' is not a tensor name")
        array = np.array(array, order="C")  # keeps a 0-d array 0-d
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype not in NAME_OF:
            raise ValueError(f"{name}: dtype {array.dtype} has no safetensors name here")
        raw = array.astype(dtype, copy=False).tobytes()
        header[name] = {"dtype": NAME_OF[dtype], "shape": [int(d) for d in array.shape],
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.replace(temporary, path)


def read(path):
    """Returns (OrderedDict name -> array in header order, metadata dict); checks that the header's
    offsets cover the data exactly, without holes or overlaps."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: shorter than 8 bytes")
        (n,) = struct.unpack("<Q", head)
        if n > size - 8:
            raise ValueError(f"{path}: header length {n} exceeds the file ({size} bytes)")
        header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=OrderedDict)
        data = f.read()
    metadata = header.pop("__metadata__", None) or {}
    tensors, spans = OrderedDict(), []
    for name, info in header.items():
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPES:
            raise ValueError(f"{path}: '{name}' has the unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"{path}: '{name}' has a bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1] <= len(data)):
            raise ValueError(f"{path}: '{name}' has bad data_offsets {offsets!r} ({len(data)} bytes of data)")
        begin, end = offsets
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * DTYPES[dtype].itemsize:
            raise ValueError(f"{path}: '{name}' {dtype}{shape} needs {count * DTYPES[dtype].itemsize} bytes, offsets give {end - begin}")
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[dtype]).reshape(shape).copy()
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise ValueError(f"{path}: the data of '{name}' starts at {begin}, not {position} (a hole or an overlap)")
        position = end
    if position != len(data):
        raise ValueError(f"{path}: the tensors cover {position} bytes of {len(data)} bytes of data")
    return tensors, metadata

"""What a Lance vector index holds, read back through Lance's own readers.

An IVF index directory has `index.idx` (the IVF model) and `auxiliary.idx` (the storage: one row
per indexed vector, `_rowid` plus the quantized code, in partition order). Both are Lance files,
read with `lance.file.LanceFileReader`. The IVF centroids and partition sizes come from
`LanceDataset.stats.index_stats`. For PQ, the auxiliary file's schema metadata says which global
buffer holds the codebook (`storage_metadata` -> `codebook_position`), stored as a protobuf
`Tensor` (data_type, shape, raw little-endian data), and the codes are stored transposed when
`transposed` is true: the fixed-size-list column's bytes are then the codes of sub-vector 0 of
every row, then sub-vector 1, ... (column-major, the layout pq_l2's kernel reads).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Silence pylance's warning that index statistics include centroids: these checks read them.
os.environ.setdefault("LANCE_INCLUDE_VECTOR_CENTROIDS", "true")


@dataclass(frozen=True)
class IvfIndex:
    centroids: np.ndarray  # float32[P, D]
    partition_sizes: np.ndarray  # int64[P]
    row_ids: np.ndarray  # uint64[N], in partition order (the auxiliary file's `_rowid`)
    directory: Path


def _index_stats(ds, name: str) -> dict:
    stats = ds.stats.index_stats(name)
    if len(stats["indices"]) != 1:
        raise ValueError(f"expected one index segment, got {len(stats['indices'])}")
    return stats["indices"][0]


def ivf(ds, name: str) -> IvfIndex:
    from lance.file import LanceFileReader

    stats = _index_stats(ds, name)
    centroids = np.asarray(stats["centroids"], dtype=np.float32)
    sizes = np.array([p["size"] for p in stats["partitions"]], dtype=np.int64)
    directory = Path(stats["uri"]).parent
    aux = LanceFileReader(str(directory / "auxiliary.idx")).read_all().to_table()
    return IvfIndex(centroids, sizes, aux["_rowid"].to_numpy().astype(np.uint64), directory)


def partition_of_rows(index: IvfIndex) -> dict[int, int]:
    """Row id -> partition, from the auxiliary file's partition order."""
    parts = np.repeat(np.arange(index.partition_sizes.size), index.partition_sizes)
    return dict(zip(index.row_ids.tolist(), parts.tolist(), strict=True))


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def tensor(buf: bytes) -> tuple[int, list[int], bytes]:
    """(data_type, shape, data) of a serialized Lance `Tensor` protobuf message."""
    fields: dict[int, list] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            length, i = _varint(buf, i)
            value = buf[i : i + length]
            i += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire} in a Tensor")
        fields.setdefault(number, []).append(value)
    shape, j = [], 0
    packed = fields.get(2, [b""])[0]
    while j < len(packed):
        dim, j = _varint(packed, j)
        shape.append(dim)
    return fields.get(1, [0])[0], shape, fields[3][0]


@dataclass(frozen=True)
class PqStorage:
    codebook: np.ndarray  # float32[M, K, dsub], pq_l2's layout
    codes: np.ndarray  # uint8[M, N], column j = the row index.row_ids[j]
    num_sub_vectors: int


def pq(index: IvfIndex) -> PqStorage:
    from lance.file import LanceFileReader

    reader = LanceFileReader(str(index.directory / "auxiliary.idx"))
    meta = reader.metadata().schema.metadata
    storage = json.loads(json.loads(meta[b"storage_metadata"])[0])
    if storage["nbits"] != 8:
        raise ValueError(f"expected 8-bit PQ, got {storage['nbits']} bits")
    m, dim = storage["num_sub_vectors"], storage["dimension"]
    _, shape, data = tensor(reader.read_global_buffer(storage["codebook_position"]))
    flat = np.frombuffer(data, dtype="<f4")
    if flat.size != 256 * dim:
        raise ValueError(f"codebook tensor of shape {shape}, expected {256 * dim} floats")
    codebook = np.ascontiguousarray(flat.reshape(m, 256, dim // m))
    column = reader.read_all().to_table()["__pq_code"].combine_chunks()
    raw = column.values.to_numpy()
    n = len(column)
    if storage.get("transposed"):
        codes = raw.reshape(m, n)
    else:
        codes = raw.reshape(n, m).T
    return PqStorage(codebook, np.ascontiguousarray(codes), m)

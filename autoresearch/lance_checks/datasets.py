"""Lance datasets for the fidelity checks: writing columns, vector search, full-text corpora.

Every dataset written here has a `pos` column, the row's position in the arrays it was built
from, so an answer maps back to the inputs without decoding Lance's row ids (which encode
fragment and offset). pylance and pyarrow are imported inside the functions: the package imports
without them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

POS = "pos"

# The full-text index the fidelity checks build: whitespace tokens, nothing folded, stemmed or
# dropped, so a token of the corpus is exactly a term of the target's posting lists, and a
# document's length is its number of whitespace-separated words.
PLAIN_FTS = {
    "base_tokenizer": "whitespace",
    "lower_case": False,
    "stem": False,
    "remove_stop_words": False,
    "ascii_folding": False,
    "with_position": False,
}


def vector_column(matrix: np.ndarray):
    """A FixedSizeList Arrow array of the rows of a 2-D float32 or uint8 matrix."""
    import pyarrow as pa

    matrix = np.ascontiguousarray(matrix)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def write(path: Path, columns: dict, rows_per_fragment: int | None = None, **kwargs):
    """A new dataset at `path` of the given Arrow-convertible columns plus `pos`."""
    import lance
    import pyarrow as pa

    n = len(next(iter(columns.values())))
    table = pa.table({**columns, POS: pa.array(np.arange(n, dtype=np.int64))})
    if rows_per_fragment:
        kwargs["max_rows_per_file"] = rows_per_fragment
    return lance.write_dataset(table, str(path), mode="create", **kwargs)


def append(ds, columns: dict, first_pos: int):
    """Append rows (positions first_pos, first_pos + 1, ...) to a dataset as a new fragment."""
    import lance
    import pyarrow as pa

    n = len(next(iter(columns.values())))
    pos = pa.array(np.arange(first_pos, first_pos + n, dtype=np.int64))
    return lance.write_dataset(pa.table({**columns, POS: pos}), ds.uri, mode="append")


def nearest(ds, column: str, query: np.ndarray, k: int, **options) -> dict:
    """Lance's vector search answer: positions, row ids and `_distance`, in Lance's order."""
    spec = {"column": column, "q": query, "k": k, **options}
    table = ds.to_table(nearest=spec, columns=[POS, "_distance"], with_row_id=True)
    return {
        "pos": table[POS].to_numpy(),
        "row_id": table["_rowid"].to_numpy().astype(np.uint64),
        "distance": table["_distance"].to_numpy().astype(np.float32),
    }


# ---------------------------------------------------------------------------
# Full-text corpora built from posting lists
# ---------------------------------------------------------------------------


def term(t: int) -> str:
    return f"t{t}"


FILLER_WORDS = 64  # distinct filler words ("f0" .. "f63"), never a term


def corpus(postings: list[tuple[np.ndarray, np.ndarray]], doc_lengths: np.ndarray) -> list[str]:
    """One text per document such that term t (the word `t<t>`) occurs in document d exactly
    freqs[i] times where postings[t] = (doc_ids, freqs) lists d at i, and document d has exactly
    doc_lengths[d] words (filler words make up the rest; freqs never exceed the length)."""
    n = doc_lengths.shape[0]
    words: list[list[str]] = [[] for _ in range(n)]
    for t, (ids, freqs) in enumerate(postings):
        word = term(t)
        for d, f in zip(ids.tolist(), freqs.tolist(), strict=True):
            words[d].extend([word] * f)
    texts = []
    for d in range(n):
        fill = int(doc_lengths[d]) - len(words[d])
        if fill < 0:
            raise ValueError(f"document {d}: term frequencies exceed its length")
        texts.append(" ".join(words[d] + [f"f{i % FILLER_WORDS}" for i in range(fill)]))
    return texts


def index_text(ds, column: str = "text"):
    ds.create_scalar_index(column, "INVERTED", **PLAIN_FTS)
    return ds


def full_text(ds, query: str, limit: int, operator: str = "OR", column: str = "text") -> dict:
    """Lance's full-text answer: positions and `_score`, in Lance's order."""
    from lance.query import FullTextOperator, MatchQuery

    match = MatchQuery(query, column, operator=FullTextOperator[operator])
    table = ds.to_table(full_text_query=match, limit=limit, columns=[POS])
    return {
        "pos": table[POS].to_numpy(),
        "score": table["_score"].to_numpy().astype(np.float32),
    }


# ---------------------------------------------------------------------------
# Arrow arrays <-> the numpy arrays the targets take
# ---------------------------------------------------------------------------


def binary_array(offsets: np.ndarray, data: np.ndarray):
    """An Arrow binary (int32 offsets) or large_binary (int64) array over numpy buffers."""
    import pyarrow as pa

    kind = pa.large_binary() if offsets.dtype == np.int64 else pa.binary()
    buffers = [None, pa.py_buffer(np.ascontiguousarray(offsets)), pa.py_buffer(data.copy())]
    return pa.Array.from_buffers(kind, offsets.size - 1, buffers)


def binary_parts(array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, uint8 data) of an Arrow binary/string array, as a take or a decode
    returns them."""
    import pyarrow as pa

    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    large = pa.types.is_large_binary(array.type) or pa.types.is_large_string(array.type)
    dtype = np.int64 if large else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=dtype)[array.offset :][: len(array) + 1]
    data = np.frombuffer(array.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
    return (offsets - offsets[0]).astype(dtype), data.copy()


def fixed_width_array(values: np.ndarray):
    """An Arrow array of int/float values, or fixed_size_binary(16) for uint8[n, 16]."""
    import pyarrow as pa

    if values.ndim == 2:
        width = values.shape[1]
        buffer = pa.py_buffer(np.ascontiguousarray(values).tobytes())
        return pa.Array.from_buffers(pa.binary(width), values.shape[0], [None, buffer])
    return pa.array(values)


def fixed_width_values(array, like: np.ndarray) -> np.ndarray:
    """The values of an Arrow fixed-width array as numpy, bits untouched (NaN payloads kept)."""
    import pyarrow as pa

    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if like.ndim == 2:
        width = like.shape[1]
        raw = np.frombuffer(array.buffers()[1], dtype=np.uint8)
        return raw[array.offset * width :][: len(array) * width].reshape(-1, width).copy()
    raw = np.frombuffer(array.buffers()[1], dtype=like.dtype)
    return raw[array.offset :][: len(array)].copy()

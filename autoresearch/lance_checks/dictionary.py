"""dictionary: dictionary pages Lance's writer encoded, materialized by dict_decode and
dict_decode_binary, against what Lance's reader decodes from the same file.

Columns are the target's own (inputs.make_dictionary / make_strings for the dictionary,
inputs.make_indices for the rows: uniform, zipf, runs) written at file formats 2.1 and 2.2;
Lance decides whether a page is dictionary encoded and the checks say when it did not. From a
dictionary page come the indices (the mini-block chunks: InlineBitpacking, decoded by bitpack's
reference, or plain u32 words) and the dictionary (the page's third buffer: a fixed-width block or
a variable-width block, LZ4-compressed behind a u32 size in format 2.2, decompressed with
pyarrow's lz4_raw codec). Checked: the dictionary is the page's distinct values in first-seen
order (Lance's `dictionary_encode`), and the decode of (indices, dictionary) equals Lance's
column, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.bitpack import reference as bitpack_reference
from autoresearch.common import SplitMix64
from autoresearch.dictionary import inputs, kernels, reference
from autoresearch.lance_checks import KERNEL, LANCE, REFERENCE, Check, Scale, skipped, verdict
from autoresearch.lance_checks.datasets import (
    binary_array,
    binary_parts,
    fixed_width_array,
    fixed_width_values,
)
from autoresearch.lance_checks.pages import (
    Page,
    concatenated,
    miniblock_chunks,
    read_column,
    variable_block,
    write_column,
)

TARGET = "dictionary"
SEED = 0xD1C7F1
VERSIONS = ("2.1", "2.2")


def page_indices(page: Page) -> np.ndarray:
    """uint32 indices of a dictionary page: its mini-block values, InlineBitpacking (decoded by
    bitpack's reference), run-length encoded (per chunk: u32 run values, u8 run lengths) or
    plain u32 words."""
    values = page.encoding[: page.encoding.index("dictionary:")]
    chunks = miniblock_chunks(page)
    if "InlineBitpacking" in values:
        return bitpack_reference.decode_miniblock(concatenated(chunks), page.num_items, np.uint32)
    if "Rle" in values:
        runs = [
            np.repeat(np.frombuffer(c.buffers[0], "<u4"), np.frombuffer(c.buffers[1], np.uint8))
            for c in chunks
        ]
        if [r.size for r in runs] != [c.num_values for c in chunks]:
            raise ValueError("run lengths do not add up to the chunks' value counts")
        return np.concatenate(runs).astype(np.uint32)
    if "bits_per_value: 32" in values:
        return concatenated(chunks).view("<u4")[: page.num_items].astype(np.uint32)
    raise ValueError(f"indices stored as {page.summary()}")


def dictionary_bytes(page: Page) -> bytes:
    """The page's dictionary buffer, decompressed if Lance compressed it (format 2.2: LZ4 block
    behind its uncompressed size as a u32)."""
    import pyarrow as pa

    buffer = page.buffers[2]
    described = page.encoding[page.encoding.index("dictionary:") :]
    if "CompressionAlgorithmLz4" in described:
        size = int.from_bytes(buffer[:4], "little")
        return pa.decompress(buffer[4:], decompressed_size=size, codec="lz4_raw").to_pybytes()
    if "BufferCompression" in described:
        raise ValueError(f"dictionary compressed as {page.summary()}")
    return buffer


def first_seen_rows(keys: list) -> list[int]:
    """Positions of the first occurrence of each distinct key, in order."""
    seen: dict = {}
    for i, key in enumerate(keys):
        seen.setdefault(key, i)
    return list(seen.values())


def _fixed_checks(name, page, lance_values: np.ndarray) -> Iterator[Check]:
    indices = page_indices(page)
    raw = np.frombuffer(dictionary_bytes(page), dtype=np.uint8).copy()
    items = page.number("num_dictionary_items")
    if lance_values.ndim == 2:
        dictionary = raw.reshape(items, lance_values.shape[1])
        keys = [row.tobytes() for row in lance_values]
    else:
        dictionary = raw.view(lance_values.dtype)[:items]
        keys = lance_values.view(f"u{lance_values.dtype.itemsize}").tolist()
    first = lance_values[first_seen_rows(keys)]
    measure = f"{items} dictionary items, {page.num_items} rows"
    yield verdict(
        TARGET,
        f"{name}: dictionary in first-seen order",
        LANCE,
        oracle.compare_bits((), dictionary, first),
        measure,
    )
    for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
        decoded = impl.dict_decode(indices, dictionary)
        yield verdict(
            TARGET, name, against, oracle.compare_bits((), decoded, lance_values), measure
        )


def _binary_checks(name, page, lance_parts, offset_dtype) -> Iterator[Check]:
    indices = page_indices(page)
    dict_offsets, dict_data = variable_block(dictionary_bytes(page))
    dict_offsets = dict_offsets.astype(offset_dtype)
    offsets, data = lance_parts
    keys = [data[offsets[i] : offsets[i + 1]].tobytes() for i in range(offsets.size - 1)]
    first = first_seen_rows(keys)
    wanted = [keys[i] for i in first]
    got = [dict_data[dict_offsets[i] : dict_offsets[i + 1]].tobytes() for i in range(len(first))]
    items = page.number("num_dictionary_items")
    problems = (
        []
        if got == wanted and items == len(wanted)
        else [
            f"{items} dictionary strings, not the {len(wanted)} distinct ones in first-seen order"
        ]
    )
    measure = f"{items} dictionary strings, {page.num_items} rows"
    yield verdict(TARGET, f"{name}: dictionary in first-seen order", LANCE, problems, measure)
    for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
        decoded = impl.dict_decode_binary(indices, dict_offsets, dict_data)
        yield verdict(TARGET, name, against, oracle.compare_bits((), decoded, lance_parts), measure)


def _pages(path: Path, array, version: str):
    """(page, Lance's decoded Arrow array of that page) for every page of a one-column file."""
    pages = write_column(path, array, version)
    column = read_column(path)
    start = 0
    for page in pages:
        yield page, column.slice(start, page.num_items)
        start += page.num_items


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    n = scale.pick(20_000, 200_000)
    for version in VERSIONS:
        for _, value_type, size in inputs.SHAPES:
            for dist in inputs.DISTRIBUTIONS:
                label = f"{value_type} K={size} {dist}"
                r = rng.spawn(f"{version} {label}")
                dictionary = inputs.make_dictionary(r, value_type, size)
                rows = dictionary[inputs.make_indices(r, n, size, dist, np.int64)]
                path = workdir / f"{value_type}_{size}_{dist}_{version}.lance"
                for p, (page, lance) in enumerate(_pages(path, fixed_width_array(rows), version)):
                    name = f"page {p}, {label}, {n} rows, format {version}"
                    if not page.uses("dictionary: Some"):
                        yield skipped(TARGET, name, LANCE, f"Lance stored it as {page.summary()}")
                        continue
                    yield from _fixed_checks(name, page, fixed_width_values(lance, rows))
        for _, value_type, size in inputs.BINARY_SHAPES:
            for dist in [*inputs.BINARY_DISTRIBUTIONS, "uniform"]:
                label = f"{value_type} K={size} {dist}"
                r = rng.spawn(f"{version} {label}")
                offset_dtype = inputs.OFFSET_DTYPES[value_type]
                dict_offsets, dict_data = inputs.make_strings(
                    r, size, size * inputs.BINARY_MEAN_LENGTH, offset_dtype
                )
                picks = inputs.make_indices(r, n, size, dist, np.int64)
                rows = reference.dict_decode_binary(picks, dict_offsets, dict_data)
                path = workdir / f"{value_type}_{size}_{dist}_{version}.lance"
                for p, (page, lance) in enumerate(_pages(path, binary_array(*rows), version)):
                    name = f"page {p}, {label}, {n} rows, format {version}"
                    if not page.uses("dictionary: Some"):
                        yield skipped(TARGET, name, LANCE, f"Lance stored it as {page.summary()}")
                        continue
                    yield from _binary_checks(name, page, binary_parts(lance), offset_dtype)

"""bitpack: pages Lance's writer bit-packed, decoded by decode_miniblock and unpack, against what
Lance's reader decodes from the same file.

Lance picks the encoding; the checks take every page as it comes and say which path it took:
- mini-block pages of InlineBitpacking (the path for unsigned integer columns, file formats 2.1
  and 2.2): the chunks' value buffers back to back are decode_miniblock's input. Values: the
  target's own (inputs.uniform_values for every (T, W) of the workload, and
  inputs.values_with_widths with skewed per-chunk widths, the miniblock workload).
- OutOfLineBitpacking: Lance uses it for the dictionary of a dictionary-encoded 64-bit page
  (format 2.2, values narrower than 64 bits): the dictionary buffer is unpack's input, with the
  page's one bit width and its number of dictionary items. The unpacked dictionary must be the
  column's distinct values in first-seen order, and the indices (InlineBitpacking chunks)
  gathered from it must give Lance's decoded column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.bitpack import inputs, kernels, reference
from autoresearch.common import SplitMix64
from autoresearch.lance_checks import KERNEL, LANCE, REFERENCE, Check, Scale, skipped, verdict
from autoresearch.lance_checks.pages import (
    concatenated,
    miniblock_chunks,
    read_column,
    write_column,
)

TARGET = "bitpack"
SEED = 0xB17F1DE
VERSIONS = ("2.1", "2.2")


def first_seen(values: np.ndarray) -> np.ndarray:
    """The distinct values in the order they first occur (Lance's dictionary order)."""
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


def distinct_values(rng: SplitMix64, count: int, width: int) -> np.ndarray:
    """uint64[count] distinct values uniform within `width` bits, in random order."""
    values = np.empty(0, dtype=np.uint64)
    while values.size < count:
        more = inputs.uniform_values(rng, 2 * count, width, np.uint64)
        values = first_seen(np.concatenate([values, more]))
    return values[:count]


def _pages_with_values(path: Path, array, version: str):
    """(page, Lance's decoded values of that page) for every page of a one-column file."""
    pages = write_column(path, array, version)
    column = read_column(path).to_numpy(zero_copy_only=False)
    start = 0
    for page in pages:
        yield page, column[start : start + page.num_items]
        start += page.num_items


def _miniblock_checks(name, page, lance_values, dtype) -> Iterator[Check]:
    if not page.uses("InlineBitpacking") or page.uses("dictionary: Some"):
        yield skipped(TARGET, name, LANCE, f"Lance stored it as {page.summary()}")
        return
    chunks = miniblock_chunks(page)
    buffer = concatenated(chunks)
    widths = sorted(
        {int.from_bytes(c.buffers[0][: np.dtype(dtype).itemsize], "little") for c in chunks}
    )
    measure = f"{len(chunks)} chunks, widths {widths[0]}..{widths[-1]}"
    for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
        decoded = impl.decode_miniblock(buffer, page.num_items, dtype)
        problems = oracle.compare_bits((), decoded, lance_values)
        yield verdict(TARGET, name, against, problems, measure)


def _page_checks(name, page, lance_values, dtype) -> Iterator[Check]:
    """Whichever bit-packed path Lance took for the page; a skip naming it when it took none."""
    if page.uses("OutOfLineBitpacking"):
        yield from _out_of_line_checks(name, page, lance_values, dtype)
    else:
        yield from _miniblock_checks(name, page, lance_values.view(dtype), dtype)


def _out_of_line_checks(name, page, lance_values, dtype) -> Iterator[Check]:
    """A dictionary page whose dictionary is OutOfLineBitpacking: unpack it, decode the indices,
    gather."""
    width = page.number("bits_per_value", after="OutOfLineBitpacking")
    items = page.number("num_dictionary_items")
    dictionary_buffer = np.frombuffer(page.buffers[2], dtype=np.uint8)
    indices_buffer = concatenated(miniblock_chunks(page))
    expected_dictionary = first_seen(lance_values).view(dtype)
    bits = np.dtype(dtype).itemsize * 8
    full, tail = divmod(items, inputs.BLOCK)
    raw_words = full * inputs.BLOCK * width // bits + tail
    stored = "raw" if dictionary_buffer.size == raw_words * (bits // 8) else "padded"
    measure = f"{items} dictionary items at {width} bits, tail {stored}, {page.num_items} rows"
    for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
        dictionary = impl.unpack(dictionary_buffer, width, items, dtype)
        problems = oracle.compare_bits((), dictionary, expected_dictionary)
        yield verdict(TARGET, f"{name}: unpack the dictionary", against, problems, measure)
        indices = impl.decode_miniblock(indices_buffer, page.num_items, np.uint32)
        gathered = dictionary[indices.astype(np.int64)] if not problems else dictionary[:0]
        problems = problems or oracle.compare_bits((), gathered, lance_values.view(dtype))
        yield verdict(TARGET, f"{name}: indices gathered", against, problems)


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    import pyarrow as pa

    rng = SplitMix64(SEED)
    n = scale.pick(5 * inputs.BLOCK + 321, 100 * inputs.BLOCK + 321)
    columns = []  # (label, values)
    for t, width in inputs.UNPACK_SHAPES:
        values = inputs.uniform_values(rng.spawn(f"{t} {width}"), n, width, np.dtype(t))
        columns.append((f"{t} W={width} uniform", values))
    for t, width in inputs.MINIBLOCK_SHAPES:
        chunks = -(-n // inputs.BLOCK)
        widths = inputs.skewed_widths(rng.spawn(f"{t} {width} widths"), chunks, width)
        widths[0] = width  # the widest chunk present, as in the workload
        values = inputs.values_with_widths(rng.spawn(f"{t} {width} skewed"), n, widths, np.dtype(t))
        columns.append((f"{t} W<={width} skewed chunk widths", values))
    columns.append(("uint8 W=5 uniform", inputs.uniform_values(rng.spawn("u8"), n, 5, np.uint8)))
    for version in VERSIONS:
        for label, values in columns:
            path = workdir / f"{label.replace(' ', '_')}_{version}.lance"
            pages = _pages_with_values(path, pa.array(values), version)
            for p, (page, lance_values) in enumerate(pages):
                name = f"page {p}, {label}, {n} values, format {version}"
                yield from _page_checks(name, page, lance_values, values.dtype)

    # Out-of-line bitpacking: the dictionary of a 64-bit page (format 2.2). Lance picks it for a
    # few thousand distinct 13-bit values in 100,000 rows (2,148: a 100-value tail, stored raw;
    # 2,500: a 452-value tail, padded); wider values it bit-packs inline, and 300 distinct values
    # get an LZ4 dictionary (both reported as what Lance chose).
    for distinct, width in ((2148, 13), (2500, 13), (3000, 24), (3000, 45), (300, 24)):
        rows = 100_000
        vocabulary = distinct_values(rng.spawn(f"dict {width} {distinct}"), distinct, width)
        picks = rng.spawn(f"dict {width} {distinct} rows").integers(rows, distinct)
        values = vocabulary[picks].view(np.int64)
        path = workdir / f"dictionary_{width}_{distinct}.lance"
        for p, (page, lance_values) in enumerate(_pages_with_values(path, pa.array(values), "2.2")):
            name = f"page {p}, int64 W={width}, {distinct} distinct values, format 2.2"
            yield from _page_checks(name, page, lance_values, np.uint64)

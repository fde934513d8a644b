"""fsst: string pages Lance's writer FSST-compressed, decoded by fsst_decode with Lance's own
symbol table, against what Lance's reader decodes from the same file.

The target's own corpora (inputs.corpus: words, urls, emails, hex_ids, numbers) as one utf8
column (string and large_string: Lance compresses only utf8 with FSST, never binary), written at
file formats 2.1 and 2.2. Lance trains a symbol
table per page and stores it in the page's encoding (`Fsst { symbol_table }`, the serialized
table: header, symbols, lengths; zero-padded here to the 2312 bytes fsst_decode takes); each
mini-block chunk holds the compressed strings as u32 offsets then code bytes (pages.variable_chunk).
Every chunk is decoded with the page's table and the chunks are joined; the result must equal
Lance's decoded strings bit for bit. Pages Lance did not compress with FSST are reported as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.fsst import inputs, kernels, reference
from autoresearch.lance_checks import KERNEL, LANCE, REFERENCE, Check, Scale, skipped, verdict
from autoresearch.lance_checks.datasets import binary_array, binary_parts
from autoresearch.lance_checks.pages import (
    bytes_field,
    miniblock_chunks,
    read_column,
    variable_chunk,
    write_column,
)

TARGET = "fsst"
SEED = 0xF557F1
VERSIONS = ("2.1", "2.2")


def symbol_table(page) -> np.ndarray:
    """Lance's serialized table of a page, zero-padded to FSST_SYMBOL_TABLE_SIZE bytes."""
    table = np.zeros(inputs.SYMBOL_TABLE_SIZE, dtype=np.uint8)
    raw = np.frombuffer(bytes_field(page, "symbol_table"), dtype=np.uint8)
    if raw.size > table.size:
        raise ValueError(f"a symbol table of {raw.size} bytes")
    table[: raw.size] = raw
    return table


def decode_page(impl, page, offset_dtype) -> tuple[np.ndarray, np.ndarray]:
    """Every chunk of an FSST page decoded with `impl`, joined into one string array."""
    table = symbol_table(page)
    offset_bits = page.number("bits_per_value", after="Variable")
    offsets, data, end = [np.zeros(1, dtype=np.int64)], [], 0
    for chunk in miniblock_chunks(page):
        chunk_offsets, codes = variable_chunk(chunk.buffers[0], offset_bits)
        out_offsets, out_data = impl.fsst_decode(table, chunk_offsets.astype(offset_dtype), codes)
        offsets.append(out_offsets[1:].astype(np.int64) + end)
        data.append(out_data)
        end += out_data.size
    return np.concatenate(offsets).astype(offset_dtype), np.concatenate(
        [np.empty(0, np.uint8), *data]
    )


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    import pyarrow as pa

    rng = SplitMix64(SEED)
    size = scale.pick(96 << 10, 1 << 20)
    for version in VERSIONS:
        for kind in inputs.CORPORA:
            data, offsets64 = inputs.corpus(rng.spawn(f"{version} {kind}"), kind, size)
            for offset_dtype in reference.OFFSET_TYPES:
                label = f"{kind}, {size >> 10} KiB, {np.dtype(offset_dtype).name} offsets"
                path = workdir / f"{kind}_{np.dtype(offset_dtype).name}_{version}.lance"
                strings = binary_array(offsets64.astype(offset_dtype), data)
                # Lance compresses utf8 columns with FSST, never binary ones.
                strings = strings.cast(
                    pa.large_string() if offset_dtype == np.int64 else pa.string()
                )
                pages = write_column(path, strings, version)
                column, start = read_column(path), 0
                for p, page in enumerate(pages):
                    lance = binary_parts(column.slice(start, page.num_items))
                    start += page.num_items
                    name = f"page {p}, {label}, format {version}"
                    if not page.uses("Fsst"):
                        yield skipped(TARGET, name, LANCE, f"Lance stored it as {page.summary()}")
                        continue
                    header = int.from_bytes(symbol_table(page)[:8].tobytes(), "little")
                    measure = f"{header & 255} symbols, {page.num_items} strings"
                    for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                        decoded = decode_page(impl, page, offset_dtype)
                        problems = oracle.compare_bits((), decoded, lance)
                        yield verdict(TARGET, name, against, problems, measure)

"""The pages of a Lance file: written by Lance's writer, located by Lance's reader, parsed here.

`lance.file.LanceFileWriter` writes one column; `LanceFileReader.metadata()` gives every page's
buffers (file position and size) and its encoding (the Debug rendering of the page's protobuf
description: the only form pylance exposes). The buffers' bytes are read from the file itself.
What is parsed here is the 2.1+ mini-block page layout (encodings/logical/primitive.rs,
`serialize_miniblocks` and `decode_miniblock_chunk`; the layout is fixed by the file format):
- buffer 0: one little-endian word per chunk (u16, or u32 when `has_large_chunk`): the low 4 bits
  are log2 of the chunk's value count (the last chunk holds the rest), the other bits the chunk's
  size in 8-byte words minus one;
- buffer 1: the chunks back to back, each a u16 level count, one size per value buffer (u16, or
  u32 when `has_large_chunk`), padding to 8 bytes, then each value buffer padded to 8 bytes
  (no repetition or definition levels here: the checks write columns without nulls);
- buffer 2, when the page is dictionary encoded: the dictionary, compressed as a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MINIBLOCK_ALIGNMENT = 8


@dataclass(frozen=True)
class Page:
    encoding: str  # Lance's Debug rendering of the page's encoding, whitespace collapsed
    buffers: list[bytes]

    def uses(self, name: str) -> bool:
        """Whether the encoding description names `name` (e.g. "InlineBitpacking")."""
        return re.search(rf"\b{name}\b", self.encoding) is not None

    def number(self, field: str, after: str = "") -> int:
        """The first integer `field: N` in the encoding (after the first `after`, if given)."""
        start = self.encoding.index(after) if after else 0
        match = re.search(rf"\b{field}: (\d+)", self.encoding[start:])
        if match is None:
            raise ValueError(f"no {field!r} in the page encoding")
        return int(match.group(1))

    @property
    def num_items(self) -> int:
        return self.number("num_items")

    @property
    def large_chunks(self) -> bool:
        return "has_large_chunk: true" in self.encoding

    def summary(self) -> str:
        """The encodings named in the description, outermost first (e.g. MiniBlockLayout >
        InlineBitpacking)."""
        names = re.findall(r"\b([A-Z][A-Za-z0-9]+) [({]", self.encoding)
        skip = {"Some", "PageLayout", "CompressiveEncoding"}
        return " > ".join(dict.fromkeys(n for n in names if n not in skip))


def write_column(path: Path, array, version: str) -> list[Page]:
    """Write one column with Lance's file writer at a file format version; return its pages."""
    import pyarrow as pa
    from lance.file import LanceFileReader, LanceFileWriter

    with LanceFileWriter(str(path), version=version) as writer:
        writer.write_batch(pa.table({"x": array}))
    metadata = LanceFileReader(str(path)).metadata()
    raw = path.read_bytes()
    return [
        Page(
            re.sub(r"\s+", " ", page.encoding),
            [raw[b.position : b.position + b.size] for b in page.buffers],
        )
        for page in metadata.columns[0].pages
    ]


def read_column(path: Path):
    """The column as Lance's reader decodes it (one Arrow array)."""
    from lance.file import LanceFileReader

    return LanceFileReader(str(path)).read_all().to_table()["x"].combine_chunks()


@dataclass(frozen=True)
class Chunk:
    num_values: int
    buffers: list[bytes]  # the chunk's value buffers, padding removed


def _pad(n: int) -> int:
    return (-n) % MINIBLOCK_ALIGNMENT


def miniblock_chunks(page: Page) -> list[Chunk]:
    """The chunks of a mini-block page without repetition or definition levels."""
    if not page.uses("MiniBlockLayout"):
        raise ValueError(f"not a mini-block page: {page.summary()}")
    if "rep_compression: None" not in page.encoding or "def_compression: None" not in page.encoding:
        raise ValueError("a page with repetition or definition levels (nulls or lists)")
    word = np.uint32 if page.large_chunks else np.uint16
    words = np.frombuffer(page.buffers[0], dtype=np.dtype(word).newbyteorder("<"))
    data = page.buffers[1]
    num_buffers = page.number("num_buffers")
    size_bytes = np.dtype(word).itemsize
    chunks, start, left = [], 0, page.num_items
    for i, w in enumerate(words.tolist()):
        count = left if i == words.size - 1 else 1 << (w & 0xF)
        nbytes = ((w >> 4) + 1) * MINIBLOCK_ALIGNMENT
        chunk = data[start : start + nbytes]
        at = 2  # the level count (0: no levels)
        sizes = []
        for _ in range(num_buffers):
            sizes.append(int.from_bytes(chunk[at : at + size_bytes], "little"))
            at += size_bytes
        at += _pad(at)
        buffers = []
        for size in sizes:
            buffers.append(chunk[at : at + size])
            at += size + _pad(size)
        if at > nbytes:
            raise ValueError(f"chunk {i}: its buffers overrun its {nbytes} bytes")
        chunks.append(Chunk(count, buffers))
        start += nbytes
        left -= count
    if start != len(data) or left != 0:
        raise ValueError(f"chunks cover {start} of {len(data)} bytes and leave {left} values")
    return chunks


def concatenated(chunks: list[Chunk], buffer: int = 0) -> np.ndarray:
    """One value buffer of every chunk, back to back, as bytes (what decode_miniblock takes)."""
    return np.frombuffer(b"".join(c.buffers[buffer] for c in chunks), dtype=np.uint8)


def rust_bytes(text: str) -> bytes:
    """The bytes of a Rust `b"..."` Debug literal: its escapes are \\xNN, \\0, \\t, \\n, \\r and a
    backslash before a backslash or a quote."""
    simple = {"0": 0, "t": 9, "n": 10, "r": 13, "\\": 92, '"': 34, "'": 39}
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out.append(ord(c))
            i += 1
        elif text[i + 1] == "x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out.append(simple[text[i + 1]])
            i += 2
    return bytes(out)


def bytes_field(page: Page, field: str) -> bytes:
    """A bytes field of the encoding, e.g. FSST's `symbol_table: b"..."`."""
    match = re.search(rf'\b{field}: b"((?:[^"\\]|\\.)*)"', page.encoding)
    if match is None:
        raise ValueError(f"no bytes field {field!r} in the page encoding")
    return rust_bytes(match.group(1))


def variable_block(buffer: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, data) of a variable-width block as Lance's block compressor writes a
    dictionary: the offset width in bits and the byte position of the data (both as words of
    that width), the offsets (as many as fit before the data), then the data."""
    bits = int.from_bytes(buffer[0:4], "little")
    if bits not in (32, 64):
        raise ValueError(f"a variable-width block with {bits}-bit offsets")
    width = bits // 8
    data_start = int.from_bytes(buffer[width : 2 * width], "little")
    offsets = np.frombuffer(buffer[2 * width : data_start], dtype=f"<u{width}").astype(np.int64)
    data = np.frombuffer(buffer, dtype=np.uint8)[data_start:]
    return offsets - offsets[0], data[offsets[0] : offsets[-1]].copy()


def variable_chunk(buffer: bytes, offset_bits: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, data) of a mini-block chunk of variable-width values: offsets of
    `offset_bits` counted from the start of the buffer (the first one is the size of the
    offsets), then the data."""
    width = offset_bits // 8
    first = int.from_bytes(buffer[0:width], "little")
    offsets = np.frombuffer(buffer[:first], dtype=f"<u{width}").astype(np.int64)
    data = np.frombuffer(buffer, dtype=np.uint8)[offsets[0] : offsets[-1]].copy()
    return offsets - offsets[0], data

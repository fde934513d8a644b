"""bitpack: one timed call = decode one whole page (2M values) of Lance's FastLanes bitpacking."""

import numpy as np

from benchmarks import _KernelSuite, encoded_to_decoded_copy, load_inputs

inputs = load_inputs("bitpack")

PEER_GROUP_BLOCKS = 64  # blocks per numpy batch: bounds the bit-per-byte temporaries (~4 MB)


class Unpack(_KernelSuite):
    target = "bitpack"
    speed = inputs.SPEED_WORKLOADS["Unpack"]  # params, param_names, workload

    def time_unpack(self, shape):
        self.run()


class DecodeMiniblock(_KernelSuite):
    target = "bitpack"
    speed = inputs.SPEED_WORKLOADS["DecodeMiniblock"]  # params, param_names, workload

    def time_decode_miniblock(self, shape, distribution):
        self.run()


class UnpackPeers:
    """Other decoders on the same pages, and two copy roofs: the decoded size copied (read and
    written), and the encoded page read while the decoded size is written (the least traffic)."""

    params = [
        inputs.UNPACK_SHAPES,
        ["numpy unpackbits", "numpy copy", "pyfastpfor", "numpy copy encoded->decoded"],
    ]
    param_names = ["shape", "peer"]
    timeout = 180

    def setup(self, shape, peer):
        w = inputs.workload("unpack", shape, "uniform")
        if peer == "numpy unpackbits":
            self.run = lambda: numpy_unpack(w.buffer, w.bit_width, w.num_values, w.dtype)
        elif peer == "numpy copy":
            # Reads and writes the decoded size into a new array, as a decoder must.
            self.run = w.values.copy
        elif peer == "pyfastpfor":
            self.run = _pyfastpfor_decoder(w)
        elif peer == "numpy copy encoded->decoded":
            self.run = encoded_to_decoded_copy([w.buffer], w.values.nbytes)
        self.run()

    def time_unpack(self, shape, peer):
        self.run()


class DecodeMiniblockPeers:
    """The same decoders and roofs on the miniblock pages."""

    params = [
        inputs.MINIBLOCK_SHAPES,
        inputs.DISTRIBUTIONS,
        ["numpy unpackbits", "numpy copy", "numpy copy encoded->decoded"],
    ]
    param_names = ["shape", "distribution", "peer"]
    timeout = 180

    def setup(self, shape, distribution, peer):
        w = inputs.workload("decode_miniblock", shape, distribution)
        if peer == "numpy unpackbits":
            self.run = lambda: numpy_decode_miniblock(w.buffer, w.num_values, w.dtype)
        elif peer == "numpy copy":
            self.run = w.values.copy
        elif peer == "numpy copy encoded->decoded":
            self.run = encoded_to_decoded_copy([w.buffer], w.values.nbytes)
        self.run()

    def time_decode_miniblock(self, shape, distribution, peer):
        self.run()


# ---------------------------------------------------------------------------
# numpy decoders of the same layout (bits spread to bytes with unpackbits, regrouped, repacked)
# ---------------------------------------------------------------------------


def _numpy_blocks(words: np.ndarray, width: int, t: np.dtype) -> np.ndarray:
    """T[nblocks * 1024]: whole FastLanes blocks of one width, `words` T[nblocks, width*lanes]."""
    bits = t.itemsize * 8
    lanes = 1024 // bits
    nblocks = words.shape[0]
    out = np.zeros((nblocks, 1024), dtype=t)
    if width == 0 or nblocks == 0:
        return out.ravel()
    index = inputs.fastlanes_index(bits)  # [rows, lanes] -> position in the block
    for g in range(0, nblocks, PEER_GROUP_BLOCKS):
        group = words[g : g + PEER_GROUP_BLOCKS].reshape(-1, width, lanes)
        streams = np.ascontiguousarray(group.transpose(0, 2, 1), dtype=t.newbyteorder("<"))
        stream_bits = np.unpackbits(streams.view(np.uint8), axis=-1, bitorder="little")
        fields = stream_bits.reshape(len(group), lanes, bits, width)  # lane, row, field bit
        wide = np.zeros((len(group), lanes, bits, bits), dtype=np.uint8)
        wide[..., :width] = fields
        values = np.packbits(wide, axis=-1, bitorder="little").view(t.newbyteorder("<"))
        out[g : g + len(group)][:, index] = values[..., 0].transpose(0, 2, 1)
    return out.ravel()


def numpy_unpack(buffer, bit_width, num_values, dtype) -> np.ndarray:
    t = np.dtype(dtype)
    bits = t.itemsize * 8
    words = buffer.view(t.newbyteorder("<")).astype(t)
    per_block = 1024 * bit_width // bits
    full, tail = divmod(num_values, 1024)
    raw = tail > 0 and words.size == full * per_block + tail
    nblocks = full + (tail > 0 and not raw)
    out = _numpy_blocks(words[: nblocks * per_block].reshape(nblocks, per_block), bit_width, t)
    if raw:
        out = np.concatenate([out, words[full * per_block :]])
    return out[:num_values]


def numpy_decode_miniblock(buffer, num_values, dtype) -> np.ndarray:
    t = np.dtype(dtype)
    bits = t.itemsize * 8
    words = buffer.view(t.newbyteorder("<")).astype(t)
    chunks = -(-num_values // 1024)
    starts = np.empty(chunks, dtype=np.int64)
    position = 0
    for c in range(chunks):  # chunk boundaries follow from the width words, one after another
        starts[c] = position
        position += 1 + 1024 * int(words[position]) // bits
    widths = words[starts].astype(np.int64)
    out = np.empty((chunks, 1024), dtype=t)
    for width in np.unique(widths):
        which = np.flatnonzero(widths == width)
        cols = np.arange(1024 * int(width) // bits)
        packed = words[(starts[which] + 1)[:, None] + cols[None, :]]
        out[which] = _numpy_blocks(packed, int(width), t).reshape(-1, 1024)
    return out.ravel()[:num_values]


def _pyfastpfor_decoder(w):
    """pyfastpfor's SIMD binary packing of the same values: its own layout, a speed anchor only."""
    try:
        import pyfastpfor
    except ImportError:
        raise NotImplementedError("pyfastpfor not installed (pip install pyfastpfor)") from None
    if w.dtype is not np.uint32:
        raise NotImplementedError("pyfastpfor packs uint32 only")
    codec = pyfastpfor.getCodec("simdbinarypacking")
    values = np.ascontiguousarray(w.values, dtype=np.uint32)
    n = values.size
    packed = np.zeros(n + 1024, dtype=np.uint32)
    packed_size = codec.encodeArray(values, n, packed, packed.size)
    out = np.zeros(n + 1024, dtype=np.uint32)

    def run():
        codec.decodeArray(packed, packed_size, out, n)
        return out

    return run

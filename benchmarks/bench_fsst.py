"""fsst: one timed call = decode one whole FSST-compressed string page (1 MiB or 16 MiB of text)."""

import numpy as np

from benchmarks import _KernelSuite, encoded_to_decoded_copy, load_inputs

inputs = load_inputs("fsst")

PEER_GROUP_BYTES = 1 << 20  # code bytes per numpy batch: bounds the int64 temporaries


class FsstDecode(_KernelSuite):
    target = "fsst"
    speed = inputs.SPEED_WORKLOADS["FsstDecode"]  # params, param_names, workload

    def time_fsst_decode(self, corpus, size):
        self.run()


class FsstDecodePeers:
    """A vectorized numpy FSST decoder, and two copy roofs: the decoded size copied (read and
    written), and the encoded page (offsets and codes) read while the decoded page (offsets and
    data) is written, the least traffic any decoder has.

    No Python library decodes Lance's FSST pages; the FSST paper's 1-3 GB/s (1.80 GB/s average on
    its 23 text files) is the outside anchor (docs/targets/fsst.md).
    """

    params = [inputs.CORPORA, inputs.SIZES, ["numpy", "numpy copy", "numpy copy encoded->decoded"]]
    param_names = ["corpus", "size", "peer"]
    timeout = 180
    rounds = 1  # informational: the numpy decoder takes ~0.5 s per 16 MiB page
    repeat = (3, 10, 5.0)  # (min, max samples, seconds): bounds the slow peer's run

    def setup(self, corpus, size, peer):
        w = inputs.workload(corpus, size)
        if peer == "numpy":
            self.run = lambda: numpy_fsst_decode(w.symbol_table, w.offsets, w.codes)
            offsets, data = self.run()
            if not (np.array_equal(data, w.data) and offsets[-1] == w.data.size):
                raise RuntimeError("the numpy peer decoded the page wrongly")
        elif peer == "numpy copy":
            # Reads and writes the decoded size into a new array, as a decoder must.
            self.run = w.data.copy
        elif peer == "numpy copy encoded->decoded":
            decoded = w.offsets.nbytes + w.data.nbytes
            self.run = encoded_to_decoded_copy([w.offsets, w.codes], decoded)
        self.run()

    def time_fsst_decode(self, corpus, size, peer):
        self.run()


def numpy_fsst_decode(symbol_table, offsets, codes):
    """FSST decoding in whole-array numpy steps, over groups of whole strings of ~1 MiB of codes
    (bounds the temporaries; strings never split, so escapes never straddle a group)."""
    header = int.from_bytes(symbol_table[:8].tobytes(), "little")
    n = header & 255
    if not (header >> 24) & 1:
        return offsets.copy(), codes.copy()
    symbol_bytes = np.zeros((256, 8), dtype=np.uint8)
    symbol_bytes[:n] = symbol_table[8 : 8 + 8 * n].reshape(n, 8)
    lengths = np.zeros(256, dtype=np.int64)
    lengths[:n] = symbol_table[8 + 8 * n : 8 + 9 * n]
    out_offsets, pieces, done = [np.zeros(1, dtype=np.int64)], [], 0
    first, last = 0, offsets.size - 1
    while first < last:
        end = int(np.searchsorted(offsets, offsets[first] + PEER_GROUP_BYTES, side="right")) - 1
        end = min(max(end, first + 1), last)
        bounds, data = _numpy_group(symbol_bytes, lengths, offsets[first : end + 1], codes)
        out_offsets.append(bounds[1:] + done)
        pieces.append(data)
        done += data.size
        first = end
    data = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    return np.concatenate(out_offsets).astype(offsets.dtype), data


def _numpy_group(symbol_bytes, lengths, offsets, codes):
    """A byte is an escape if it is 0xFF at an even distance from the start of its run of 0xFF
    bytes (a run starts at a code position: after a symbol code or after a literal), the byte
    after an escape is a literal, every other byte is a symbol code."""
    c = codes[offsets[0] : offsets[-1]]
    position = np.arange(c.size)
    is_ff = c == 255
    run_starts = is_ff & ~np.concatenate([[False], is_ff[:-1]])
    run_start = np.maximum.accumulate(np.where(run_starts, position, 0)) if c.size else position
    escape = is_ff & ((position - run_start) % 2 == 0)
    literal = np.concatenate([[False], escape[:-1]])
    produced = np.where(escape | literal, 0, lengths[c]) + literal
    ends = np.cumsum(produced)
    source = np.repeat(position, produced)  # which code byte each output byte comes from
    within = np.arange(source.size) - (ends - produced)[source]
    data = np.where(literal[source], c[source], symbol_bytes[c[source], within]).astype(np.uint8)
    return np.concatenate([[0], ends])[offsets - offsets[0]], data

"""dictionary: one timed call = decode 16 scan batches of dictionary indices (Lance 2.1 decode)."""

import functools

import numpy as np

from autoresearch.dictionary import reference
from benchmarks import _KernelSuite, encoded_to_decoded_copy, load_inputs

inputs = load_inputs("dictionary")

PEER_CHUNK = 1 << 18  # indices per numpy string-gather chunk: bounds its byte-index temporaries


class DictDecode(_KernelSuite):
    target = "dictionary"
    speed = inputs.SPEED_WORKLOADS["DictDecode"]  # params, param_names, workload

    def time_dict_decode(self, shape, distribution):
        self.run()


class DictDecodeBinary(_KernelSuite):
    target = "dictionary"
    speed = inputs.SPEED_WORKLOADS["DictDecodeBinary"]  # params, param_names, workload

    def time_dict_decode_binary(self, shape, distribution):
        self.run()


class DictDecodePeers:
    """Other decoders on the same pages, and two copy roofs: a plain copy of the output (read and
    written), and the indices and dictionary read while the output size is written (the least
    traffic any decoder has)."""

    params = [
        inputs.SHAPES,
        inputs.DISTRIBUTIONS,
        ["numpy take", "pyarrow dictionary_decode", "numpy copy", "numpy copy encoded->decoded"],
    ]
    param_names = ["shape", "distribution", "peer"]
    timeout = 180

    def setup(self, shape, distribution, peer):
        w = inputs.workload(shape, distribution)
        if peer == "numpy take":
            self.run = lambda: np.take(w.dictionary, w.indices, axis=0)
        elif peer == "pyarrow dictionary_decode":
            self.run = _pyarrow_decoder(w)
        elif peer == "numpy copy":
            # Reads and writes the decoded size into a new array, as a decoder must.
            self.run = _decoded(shape, distribution).copy
        elif peer == "numpy copy encoded->decoded":
            encoded = [w.indices, w.dictionary]
            self.run = encoded_to_decoded_copy(encoded, inputs.output_bytes(w))
        self.run()

    def time_dict_decode(self, shape, distribution, peer):
        self.run()


class DictDecodeBinaryPeers:
    """The same for string dictionaries."""

    params = [
        inputs.BINARY_SHAPES,
        inputs.BINARY_DISTRIBUTIONS,
        ["numpy", "pyarrow dictionary_decode", "numpy copy", "numpy copy encoded->decoded"],
    ]
    param_names = ["shape", "distribution", "peer"]
    timeout = 180

    def setup(self, shape, distribution, peer):
        w = inputs.workload(shape, distribution)
        if peer == "numpy":
            self.run = lambda: numpy_gather_strings(w.dict_offsets, w.dict_data, w.indices)
        elif peer == "pyarrow dictionary_decode":
            self.run = _pyarrow_decoder(w)
        elif peer == "numpy copy":
            offsets, data = _decoded(shape, distribution)
            self.run = lambda: (offsets.copy(), data.copy())
        elif peer == "numpy copy encoded->decoded":
            encoded = [w.indices, w.dict_offsets, w.dict_data]
            self.run = encoded_to_decoded_copy(encoded, inputs.output_bytes(w))
        self.run()

    def time_dict_decode_binary(self, shape, distribution, peer):
        self.run()


@functools.lru_cache(maxsize=1)
def _decoded(shape, distribution):
    """The decoded page (computed once per process): what the copy row copies."""
    return inputs.search(reference, inputs.workload(shape, distribution))


def numpy_gather_strings(offsets, data, indices):
    """(offsets, data) of the selected strings with numpy: lengths, cumsum, one byte gather."""
    lengths = np.diff(offsets)[indices]
    out_offsets = np.zeros(len(indices) + 1, dtype=offsets.dtype)
    np.cumsum(lengths, out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), dtype=np.uint8)
    starts = offsets[:-1][indices]
    for lo in range(0, len(indices), PEER_CHUNK):
        hi = min(lo + PEER_CHUNK, len(indices))
        first, last = int(out_offsets[lo]), int(out_offsets[hi])
        shift = np.repeat(starts[lo:hi] - out_offsets[lo:hi], lengths[lo:hi])
        out[first:last] = data[shift + np.arange(first, last)]
    return out_offsets, out


def _pyarrow_decoder(w):
    try:
        import pyarrow as pa
    except ImportError:
        raise NotImplementedError("pyarrow not installed (pip install '.[peers]')") from None
    pa.set_cpu_count(1)
    if isinstance(w, inputs.BinaryWorkload):
        kind = pa.binary() if w.dict_offsets.dtype == np.int32 else pa.large_binary()
        buffers = [None, pa.py_buffer(w.dict_offsets), pa.py_buffer(w.dict_data)]
        values = pa.Array.from_buffers(kind, len(w.dict_offsets) - 1, buffers)
    elif w.dictionary.ndim == 2:
        rows = np.ascontiguousarray(w.dictionary)
        buffers = [None, pa.py_buffer(rows)]
        values = pa.FixedSizeBinaryArray.from_buffers(pa.binary(rows.shape[1]), len(rows), buffers)
    else:
        values = pa.array(w.dictionary)
    array = pa.DictionaryArray.from_arrays(pa.array(w.indices), values)
    return array.dictionary_decode

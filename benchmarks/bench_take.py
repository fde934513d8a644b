"""take: one timed call = the arrow takes of Lance's dataset take: per unsorted request, the rows it
read gathered into the caller's order (one take, or several small ones)."""

import functools

import numpy as np

from autoresearch.take import reference
from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("take")

PEER_CHUNK = 1 << 18  # indices per numpy string-gather chunk: bounds its byte-index temporaries


class Take(_KernelSuite):
    target = "take"
    speed = inputs.SPEED_WORKLOADS["Take"]  # params, param_names, workload

    def time_take(self, shape, distribution, selectivity):
        self.run()


class TakeBinary(_KernelSuite):
    target = "take"
    speed = inputs.SPEED_WORKLOADS["TakeBinary"]  # params, param_names, workload

    def time_take_binary(self, shape, distribution, selectivity):
        self.run()


class TakePeers:
    """numpy and pyarrow on the same takes, and a plain copy of the output (the bandwidth roof)."""

    params = [
        inputs.SHAPES,
        inputs.DISTRIBUTIONS,
        inputs.SELECTIVITIES,
        ["numpy fancy index", "numpy take", "pyarrow take", "numpy copy"],
    ]
    param_names = ["shape", "distribution", "selectivity", "peer"]
    timeout = 180

    def setup(self, shape, distribution, selectivity, peer):
        w = inputs.workload(shape, distribution, selectivity)
        if peer == "numpy fancy index":
            self.run = lambda: [values[indices] for values, indices in w.takes]
        elif peer == "numpy take":
            self.run = lambda: [np.take(values, indices, axis=0) for values, indices in w.takes]
        elif peer == "pyarrow take":
            self.run = _pyarrow_taker(w)
        elif peer == "numpy copy":
            # Every byte the timed call writes, copied once into a new array.
            self.run = _taken(shape, distribution, selectivity).copy
        self.run()

    def time_take(self, shape, distribution, selectivity, peer):
        self.run()


class TakeBinaryPeers:
    """The same for string columns."""

    params = [
        inputs.BINARY_SHAPES,
        inputs.BINARY_DISTRIBUTIONS,
        inputs.BINARY_SELECTIVITIES,
        ["numpy", "pyarrow take", "numpy copy"],
    ]
    param_names = ["shape", "distribution", "selectivity", "peer"]
    timeout = 180

    def setup(self, shape, distribution, selectivity, peer):
        w = inputs.workload(shape, distribution, selectivity)
        if peer == "numpy":
            self.run = lambda: [numpy_gather_strings(*take) for take in w.takes]
        elif peer == "pyarrow take":
            self.run = _pyarrow_taker(w)
        elif peer == "numpy copy":
            offsets, data = _taken(shape, distribution, selectivity)
            self.run = lambda: (offsets.copy(), data.copy())
        self.run()

    def time_take_binary(self, shape, distribution, selectivity, peer):
        self.run()


@functools.lru_cache(maxsize=1)
def _taken(shape, distribution, selectivity):
    """Every output of one timed call, concatenated (computed once per process)."""
    outs = inputs.outputs(reference, inputs.workload(shape, distribution, selectivity))
    if isinstance(outs[0], tuple):
        return (np.concatenate([o for o, _ in outs]), np.concatenate([d for _, d in outs]))
    return np.concatenate(outs)


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


def _pyarrow_taker(w):
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        raise NotImplementedError("pyarrow not installed (pip install '.[peers]')") from None
    pa.set_cpu_count(1)
    takes = []
    for *column, indices in w.takes:
        if isinstance(w, inputs.BinaryWorkload):
            offsets, data = column
            kind = pa.binary() if offsets.dtype == np.int32 else pa.large_binary()
            buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
            values = pa.Array.from_buffers(kind, len(offsets) - 1, buffers)
        elif column[0].ndim == 2:
            rows = np.ascontiguousarray(column[0])
            buffers = [None, pa.py_buffer(rows)]
            kind = pa.binary(rows.shape[1])
            values = pa.FixedSizeBinaryArray.from_buffers(kind, len(rows), buffers)
        else:
            values = pa.array(column[0])
        takes.append((values, pa.array(indices)))
    return lambda: [pc.take(values, indices) for values, indices in takes]

"""predicate: one timed call = six comparisons and one BETWEEN over a cache-resident 131,072-row
column (16 of Lance's 8192-row scan batches)."""

import numpy as np

from benchmarks import _KernelSuite, load_inputs

inputs = load_inputs("predicate")


class Predicate(_KernelSuite):
    target = "predicate"
    speed = inputs.SPEED_WORKLOADS["Predicate"]  # params, param_names, workload

    def time_search(self, dtype, order):
        self.run()


class PredicatePeers:
    """The best public implementations on the same data: how far the kernel is from them.

    Both peers compare by IEEE rules, not arrow-rs's total order; the workload holds no NaN or
    -0.0, so their bitmaps equal the kernel's here.
    """

    params = [inputs.DTYPES, inputs.ORDERS, ["numpy", "pyarrow"]]
    param_names = ["dtype", "order", "peer"]
    timeout = 180

    def setup(self, dtype, order, peer):
        w = inputs.workload(dtype, order)
        if peer == "numpy":
            self.run = lambda: _numpy_search(w)
        elif peer == "pyarrow":
            self.run = _pyarrow_search(w)
        self.run()

    def time_search(self, dtype, order, peer):
        self.run()


NUMPY_OPS = {
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
}


def _numpy_search(w):
    """Compare to bool[], AND the unpacked validity, packbits (the API's bitmap in and out)."""
    n = w.values.shape[0]
    out = None
    for op, u, _ in inputs.CALL:
        valid = np.unpackbits(w.validity, count=n, bitorder="little").view(bool)
        hit = NUMPY_OPS[op](w.values, inputs.scalar(w.dtype, u)) & valid
        out = np.packbits(hit, bitorder="little")
    lo, hi = (inputs.scalar(w.dtype, r) for r in inputs.BETWEEN_RANKS)
    out = np.packbits((w.values >= lo) & (w.values <= hi), bitorder="little")
    return out


def _pyarrow_search(w):
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        raise NotImplementedError("pyarrow not installed (pip install '.[peers]')") from None
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    n = w.values.shape[0]
    typ = pa.from_numpy_dtype(w.values.dtype)
    data = pa.py_buffer(w.values)
    nullable = pa.Array.from_buffers(typ, n, [pa.py_buffer(w.validity), data])
    plain = pa.Array.from_buffers(typ, n, [None, data])
    funcs = {
        "lt": pc.less,
        "le": pc.less_equal,
        "gt": pc.greater,
        "ge": pc.greater_equal,
        "eq": pc.equal,
        "ne": pc.not_equal,
    }
    calls = [(funcs[op], pa.scalar(inputs.scalar(w.dtype, u)[()], typ)) for op, u, _ in inputs.CALL]
    lo, hi = (pa.scalar(inputs.scalar(w.dtype, r)[()], typ) for r in inputs.BETWEEN_RANKS)

    def run():
        out = None
        for func, s in calls:
            # FilterExec's rule: a null comparison keeps no row.
            out = pc.fill_null(func(nullable, s), False)
        out = pc.and_(pc.greater_equal(plain, lo), pc.less_equal(plain, hi))
        return out

    return run

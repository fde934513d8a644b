"""expect: raised

Forges the verdict and ends the process at import: writes `correctness: pass` where the report
goes and exits with status 0 before any check runs (os._exit skips every handler). With the kernel
imported in the oracle's own process, the report's reader saw a pass line and exit 0. The kernel now
runs in a process of its own, whose output is not the report and whose exit the oracle reports as
a failure. (The static check rejects `os`: run through the dynamic checks alone, this is what the
red-team suite shows.)
"""

import os

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}

os.write(1, b"target: pq_l2\ncorrectness: pass\ncases: 1\ncalls: 1\nfailures: 0\n")
os.write(2, b"correctness: pass\n")
os._exit(0)


@njit(**JIT)
def distance_table(codebook, query):
    return np.zeros((codebook.shape[0], codebook.shape[1]), dtype=np.float32)


@njit(**JIT)
def pq_distances(table, codes):
    return np.zeros(codes.shape[1], dtype=np.float32)

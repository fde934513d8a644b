"""expect: static

Wraps the reference: its compiled loops are exactly right, so calling them can never be wrong, and
a faster wrapper (threads, a cache in front) would then be "correct" by construction. kernels.py
may import only numpy, numba and math; importlib and __import__ are rejected by name too.
"""

import importlib

from autoresearch.pq_l2 import reference

_reference = importlib.import_module("autoresearch.pq_l2.reference")


def distance_table(codebook, query):
    return reference.distance_table(codebook, query)


def pq_distances(table, codes):
    return _reference.pq_distances(table, codes)

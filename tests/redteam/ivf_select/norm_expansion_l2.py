"""expect: wrong

Squared L2 to every centroid by the expansion |q|^2 + |c|^2 - 2 q.c in float32 (one dot product per
centroid, the norms computed in the same pass: no state). Within tolerance on every case of
inputs.py, "query = a centroid" at unit scale included, where the rounding of |q|^2 ~ 1 is 1e-7;
at scale 1e3 it is ~0.1 and the distance to the centroid under the query comes out far from 0
(held-out numerics, autoresearch/heldout.py).
"""

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "fastmath": False}


def find_partitions(query, centroids, nprobes, metric):
    if metric == "l2":
        return find_partitions_l2(query, centroids, nprobes)
    if metric == "dot":
        return find_partitions_dot(query, centroids, nprobes)
    raise ValueError(f"unsupported metric {metric!r}")


@njit(**JIT)
def find_partitions_l2(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    qq = np.float32(0.0)
    for d in range(dim):
        qq += query[d] * query[d]
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        cc = np.float32(0.0)
        qc = np.float32(0.0)
        for d in range(dim):
            c = centroids[p, d]
            cc += c * c
            qc += query[d] * c
        dists[p] = max(np.float32(0.0), qq + cc - np.float32(2.0) * qc)
    return take_smallest(dists, nprobes)


@njit(**JIT)
def find_partitions_dot(query, centroids, nprobes):
    num_partitions, dim = centroids.shape
    dists = np.empty(num_partitions, dtype=np.float32)
    for p in range(num_partitions):
        total = np.float32(0.0)
        for d in range(dim):
            total += query[d] * centroids[p, d]
        dists[p] = np.float32(1.0) - total
    return take_smallest(dists, nprobes)


@njit(**JIT)
def take_smallest(dists, nprobes):
    n = min(nprobes, dists.shape[0])
    order = np.argsort(dists, kind="mergesort")[:n]
    return order.astype(np.uint32), dists[order]

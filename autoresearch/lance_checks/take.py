"""take: Lance's Dataset.take against take and take_binary.

A dataset of the target's own columns (inputs.make_values: int64, int32, float64 with the held-out
special bit patterns, 16-byte values; inputs.make_strings: binary and large_binary) in several
fragments, taken with the target's own index distributions (inputs.make_indices: random with
repeats, sorted, clustered runs in random order). Dataset.take returns the rows in the caller's
order, repeats included; values are compared bit for bit: against the take of the whole column,
and, for the unsorted requests, against the reference's take of the distinct rows read with the
speed workload's remapping index (inputs.lance_remap): a check of how the workload builds its
index, which any correct remapping passes (the model itself rests on Lance's source).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autoresearch import oracle
from autoresearch.common import SplitMix64
from autoresearch.lance_checks import KERNEL, REFERENCE, Check, Scale, verdict
from autoresearch.lance_checks.datasets import (
    binary_array,
    binary_parts,
    fixed_width_array,
    fixed_width_values,
    write,
)
from autoresearch.take import inputs, kernels, reference

TARGET = "take"
SEED = 0x7A4EF1
VALUE_TYPES = ("int64", "int32", "float64", "bytes16")


def checks(workdir: Path, scale: Scale) -> Iterator[Check]:
    rng = SplitMix64(SEED)
    n = scale.pick(20_000, 200_000)
    count = n // 10
    columns, values = {}, {}
    for value_type in VALUE_TYPES:
        v = inputs.make_values(rng.spawn(value_type), value_type, n)
        if value_type == "float64":  # the held-out bit patterns a take must carry untouched
            specials = np.array(inputs.SPECIAL_FLOAT_BITS, dtype=np.uint64).view(np.float64)
            v[rng.spawn("specials").integers(specials.size * 20, n)] = np.resize(
                specials, specials.size * 20
            )
        values[value_type] = v
        columns[value_type] = fixed_width_array(v)
    strings = {}
    for kind, offset_dtype in inputs.OFFSET_DTYPES.items():
        offsets, data = inputs.make_strings(
            rng.spawn(kind), n, n * inputs.BINARY_MEAN_LENGTH, offset_dtype
        )
        strings[kind] = (offsets, data)
        columns[kind] = binary_array(offsets, data)
    ds = write(workdir / "take.lance", columns, rows_per_fragment=n // 4)
    for dist in [*inputs.DISTRIBUTIONS, "sorted"]:  # the speed requests, and a sorted one
        for index_dtype in (np.uint64, np.uint32):
            indices = inputs.make_indices(
                rng.spawn(f"{dist} {index_dtype}"), count, n, dist, index_dtype
            )
            table = ds.take(indices.astype(np.int64))
            label = f"Dataset.take of {count} of {n} rows ({dist}, {np.dtype(index_dtype).name})"
            # The speed workload's model (unsorted requests): the distinct rows read, ascending,
            # taken with each requested row's rank among them.
            read = np.unique(indices.astype(np.int64))
            _rows, remap = inputs.lance_remap(indices.astype(np.int64), n)
            for value_type, v in values.items():
                lance = fixed_width_values(table[value_type], v)
                for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                    expected = impl.take(v, indices)
                    problems = oracle.compare_bits((), lance, expected)
                    yield verdict(TARGET, f"{label}, {value_type}", against, problems)
                if dist != "sorted":
                    model = reference.take(np.ascontiguousarray(v[read]), remap)
                    problems = oracle.compare_bits((), lance, model)
                    yield verdict(TARGET, f"{label}, {value_type}, remapped", REFERENCE, problems)
            for kind, (offsets, data) in strings.items():
                lance = binary_parts(table[kind])
                for against, impl in ((REFERENCE, reference), (KERNEL, kernels)):
                    expected = impl.take_binary(offsets, data, indices)
                    problems = oracle.compare_bits((), lance, expected)
                    yield verdict(TARGET, f"{label}, {kind}", against, problems)
                if dist != "sorted":
                    read_offsets, read_data = reference.take_binary(offsets, data, read)
                    model = reference.take_binary(read_offsets, read_data, remap)
                    problems = oracle.compare_bits((), lance, model)
                    yield verdict(TARGET, f"{label}, {kind}, remapped", REFERENCE, problems)

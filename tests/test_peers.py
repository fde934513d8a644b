"""The asv suites' peers: each computes the target's answer, so its time is a fair anchor.

A peer library that is not installed skips its test (the peers extra is optional), as asv skips
its rows. Each check runs one workload combination through the Peers class's own setup.
"""

import importlib
import inspect

import numpy as np
import pytest

from autoresearch import report

TARGETS = [
    "bitpack",
    "bm25",
    "dictionary",
    "distances",
    "fsst",
    "ivf_select",
    "posting_intersect",
    "pq_l2",
    "predicate",
    "take",
    "topk_merge",
]


def _peers(name, *params):
    """A Peers class instance after asv's setup, its run() ready (the library or a skip)."""
    module = importlib.import_module(f"benchmarks.{name.split('.')[0]}")
    peers = getattr(module, name.split(".")[1])()
    try:
        peers.setup(*params)
    except NotImplementedError as e:
        pytest.skip(str(e))
    return peers


# ---------------------------------------------------------------------------
# distances: numkong beside simsimd
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["l2_batch", "dot_batch", "cosine_batch"])
def test_numkong_float_distances_match_the_reference(function):
    from autoresearch.distances import inputs, reference
    from benchmarks import bench_distances

    peers = _peers("bench_distances.DistancesPeers", function, 128, "numkong")
    out = np.asarray(peers.run())[0]
    query, vectors = bench_distances._calls(inputs.workload(function, 128))[-1]
    if function == "dot_batch":
        out = 1.0 - out  # numkong returns q.x, the distance is 1 - q.x
    expected = getattr(reference, function)(query, vectors)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


def test_numkong_hamming_matches_the_reference():
    from autoresearch.distances import inputs, reference
    from benchmarks import bench_distances

    peers = _peers("bench_distances.HammingPeers", 32, "numkong")
    out = np.asarray(peers.run())[0]
    query, codes = bench_distances._calls(inputs.workload("hamming_batch", 32))[-1]
    np.testing.assert_array_equal(out, reference.hamming_batch(query, codes))


# ---------------------------------------------------------------------------
# Copy roofs of the decoders
# ---------------------------------------------------------------------------


def test_roof_peers_are_never_the_best_peer():
    """Every peer row named as a copy is a roof the README's best-peer ratio leaves out."""
    for target in TARGETS:
        module = importlib.import_module(f"benchmarks.bench_{target}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not name.endswith("Peers") or cls.__module__ != module.__name__:
                continue
            for peer in cls.params[-1]:
                if "copy" in peer:
                    assert peer in report.ROOF_PEERS, f"{target}.{name}: {peer!r}"


def test_encoded_to_decoded_copy_reads_the_encoded_bytes_and_writes_the_decoded_size():
    from benchmarks.bench_bitpack import encoded_to_decoded_copy

    encoded = [np.arange(5, dtype=np.uint8), np.array([7, 8], dtype=np.uint16)]
    out = encoded_to_decoded_copy(encoded, 20)()
    source = np.array([0, 1, 2, 3, 4, 7, 0, 8, 0], dtype=np.uint8)  # little-endian uint16
    assert out.dtype == np.uint8 and out.shape == (20,)
    np.testing.assert_array_equal(out, np.concatenate([source, source, source[:2]]))
    assert encoded_to_decoded_copy(encoded, 3)().tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("name", "params", "workload_args"),
    [
        ("bench_bitpack.UnpackPeers", (("uint32", 3),), ("unpack", ("uint32", 3), "uniform")),
        (
            "bench_bitpack.DecodeMiniblockPeers",
            (("uint32", 13), "skewed"),
            ("decode_miniblock", ("uint32", 13), "skewed"),
        ),
        ("bench_fsst.FsstDecodePeers", ("urls", 1 << 20), ("urls", 1 << 20)),
        (
            "bench_dictionary.DictDecodePeers",
            (("uint8", "int64", 16), "zipf"),
            (("uint8", "int64", 16), "zipf"),
        ),
        (
            "bench_dictionary.DictDecodeBinaryPeers",
            (("int32", "binary", 256), "zipf"),
            (("int32", "binary", 256), "zipf"),
        ),
    ],
    ids=["bitpack-unpack", "bitpack-miniblock", "fsst", "dictionary", "dictionary-binary"],
)
def test_copy_roofs_write_the_decoded_size(name, params, workload_args):
    """The roof writes exactly the bytes the reference decoder returns for the page."""
    target = name.split(".")[0].removeprefix("bench_")
    inputs = importlib.import_module(f"autoresearch.{target}.inputs")
    reference = importlib.import_module(f"autoresearch.{target}.reference")
    decoded = inputs.search(reference, inputs.workload(*workload_args))
    parts = decoded if isinstance(decoded, tuple) else (decoded,)
    out = _peers(name, *params, "numpy copy encoded->decoded").run()
    assert out.nbytes == sum(np.asarray(p).nbytes for p in parts)

"""The asv suites' peers: each computes the target's answer, so its time is a fair anchor.

A peer library that is not installed skips its test (the peers extra is optional), as asv skips
its rows. Each check runs one workload combination through the Peers class's own setup.
"""

import importlib
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

from autoresearch import report

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

# Every suite module: benchmarks/bench_<target>.py.
TARGETS = sorted(p.stem.removeprefix("bench_") for p in BENCHMARKS.glob("bench_*.py"))


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
    from benchmarks import encoded_to_decoded_copy

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


# ---------------------------------------------------------------------------
# bm25: bm25s and tantivy beside the numpy formula
# ---------------------------------------------------------------------------


def _bm25_args(w):
    return (*w.queries[-1], w.doc_lengths, w.k)


def test_bm25s_top_k_passes_the_targets_rule():
    """bm25s with Lance's formula (atire tf, lucene idf) and exact lengths: the last query's top k
    passes compare_topk, scores and membership."""
    from autoresearch.bm25 import inputs, reference

    w = inputs.workload(100_000, 3, 10)
    result = _peers("bench_bm25.Bm25Peers", 100_000, 3, 10, "bm25s").run()
    ids, scores = result.documents[0].astype(np.uint32), result.scores[0]
    matched = scores > 0  # bm25s pads a short answer with zero-score documents
    args = _bm25_args(w)
    actual = (ids[matched], scores[matched])
    assert inputs.compare_topk(args, actual, reference.bm25_topk(*args)) == []


def _tantivy_answer(built, hits):
    searcher = built[0].searcher()
    ids = np.array([searcher.doc(address)["id"][0] for _, address in hits], dtype=np.uint32)
    return ids, np.array([score for score, _ in hits], dtype=np.float32)


def test_tantivy_top_k_passes_the_targets_rule_where_lengths_are_exact():
    """tantivy stores a document's length in one byte, exact up to 40 tokens: on documents that
    short its answer passes compare_topk (same k1, b, idf and avgdl as Lance)."""
    pytest.importorskip("tantivy")
    from autoresearch.bm25 import inputs, reference
    from autoresearch.common import SplitMix64
    from benchmarks import bench_bm25

    rng = SplitMix64(0xB3)
    lengths = (12 + rng.integers(2_000, 29)).astype(np.uint32)  # 12..40 tokens
    query = inputs.make_query(rng, [300, 40, 900], lengths)
    w = inputs.Workload(lengths, [query], 25)
    built = bench_bm25.tantivy_build(w)
    assert built[3] == 0  # one query: no document's postings outnumber its length
    actual = _tantivy_answer(built, bench_bm25._tantivy_search(w, built)().hits)
    args = _bm25_args(w)
    assert inputs.compare_topk(args, actual, reference.bm25_topk(*args)) == []


def test_tantivy_finds_the_reference_top_k_on_the_workload():
    """On the workload (lengths up to thousands, quantized) the same documents, scores within 3%."""
    from autoresearch.bm25 import inputs, reference
    from benchmarks import bench_bm25

    w = inputs.workload(100_000, 8, 100)
    hits = _peers("bench_bm25.Bm25Peers", 100_000, 8, 100, "tantivy").run().hits
    ids, scores = _tantivy_answer(bench_bm25._tantivy_index(100_000, 8), hits)
    args = _bm25_args(w)
    expected = reference.bm25_topk(*args)
    assert set(ids.tolist()) == set(expected[0].tolist())
    exact = reference.doc_scores(*args[:4])[ids]
    np.testing.assert_allclose(scores, exact, rtol=0.03)


# ---------------------------------------------------------------------------
# ivf_select and topk_merge: faiss
# ---------------------------------------------------------------------------


def test_faiss_flat_search_selects_the_reference_partitions():
    """IndexFlatIP with k = nprobes, 1 - inner product: the last call (dot metric) passes the
    target's selection rule."""
    from autoresearch.ivf_select import inputs, reference

    w = inputs.workload((1024, 768), 20)
    dists, ids = _peers("bench_ivf_select.IvfSelectPeers", (1024, 768), 20, "faiss").run()
    args = (w.queries[-1][-1], w.centroids[-1], 20, "dot")
    actual = (ids[0].astype(np.uint32), dists[0].astype(np.float32))
    assert inputs.compare_selection(args, actual, reference.find_partitions(*args)) == []


def test_faiss_merge_knn_results_equals_the_reference_merge():
    """merge_knn_results over the skewed distribution's merges (distinct distances): the
    reference's distances and row ids, merge by merge."""
    from autoresearch.topk_merge import inputs, reference

    w = inputs.workload(64, 100)
    dists, row_ids = _peers("bench_topk_merge.TopkMergePeers", 64, 100, "faiss").run()[-1]
    merges = w.calls[-len(dists) :]
    for m, (d, r) in enumerate(merges):
        expected_d, expected_r = reference.topk_merge(d, r, 100)
        np.testing.assert_array_equal(dists[m], expected_d)
        np.testing.assert_array_equal(row_ids[m].view(np.uint64), expected_r)


def test_faiss_result_heap_equals_the_reference_topk():
    from autoresearch.topk_merge import inputs, reference

    w = inputs.topk_workload(100)
    dists, row_ids = _peers("bench_topk_merge.TopkPeers", 100, "faiss").run()
    partitions = w.calls[-len(dists) :]
    for p, (d, r) in enumerate(partitions):
        expected_d, expected_r = reference.topk(d, r, 100)
        np.testing.assert_array_equal(dists[p], expected_d)
        np.testing.assert_array_equal(row_ids[p].view(np.uint64), expected_r)


# ---------------------------------------------------------------------------
# dictionary, take: pyarrow; posting_intersect: numpy and pyroaring
# ---------------------------------------------------------------------------


def test_pyarrow_dictionary_decode_equals_the_reference():
    from autoresearch.dictionary import inputs, reference

    shape = ("uint8", "int64", 16)
    decoded = _peers("bench_dictionary.DictDecodePeers", shape, "zipf", "pyarrow dictionary_decode")
    w = inputs.workload(shape, "zipf")
    expected = reference.dict_decode(w.indices, w.dictionary)
    np.testing.assert_array_equal(decoded.run().to_numpy(), expected)


def test_pyarrow_take_equals_the_reference():
    from autoresearch.take import inputs, reference

    shape = ("int64", "uint64")
    taken = _peers("bench_take.TakePeers", shape, "random", 0.001, "pyarrow take").run()
    w = inputs.workload(shape, "random", 0.001)
    assert len(taken) == len(w.takes) == 100  # 0.1%: a hundred requests of 10,000 rows
    for out, (values, indices) in zip(taken, w.takes, strict=True):
        np.testing.assert_array_equal(out.to_numpy(), reference.take(values, indices))


@pytest.mark.parametrize("peer", ["numpy", "pyroaring"])
@pytest.mark.parametrize("shape", ["balanced", "sparse"])
def test_intersection_peers_equal_the_reference(peer, shape):
    from autoresearch.posting_intersect import inputs, reference

    out = _peers("bench_posting_intersect.PostingIntersectPeers", 3, shape, peer).run()
    expected = reference.intersect(inputs.workload(3, shape).queries[-1])
    np.testing.assert_array_equal(np.asarray(out, dtype=np.uint32), expected)


@pytest.mark.parametrize(
    ("name", "params", "library"),
    [
        ("bench_distances.DistancesPeers", ("l2_batch", 128, "numkong"), "numkong"),
        ("bench_distances.HammingPeers", (32, "numkong"), "numkong"),
        ("bench_bm25.Bm25Peers", (100_000, 1, 10, "bm25s"), "bm25s"),
        ("bench_bm25.Bm25Peers", (100_000, 1, 10, "tantivy"), "tantivy"),
    ],
)
def test_a_missing_peer_library_is_an_asv_skip(monkeypatch, name, params, library):
    """Without the library, setup raises NotImplementedError (asv records a skip) with the hint."""
    monkeypatch.setitem(sys.modules, library, None)  # import raises ImportError
    module = importlib.import_module(f"benchmarks.{name.split('.')[0]}")
    with pytest.raises(NotImplementedError, match=r"pip install '\.\[peers\]'"):
        getattr(module, name.split(".")[1])().setup(*params)


def test_bench_installs_the_peers_extra():
    """`bench --peers` installs peer_env.PEER_PACKAGES into asv's environment: that list is
    pyproject's `peers` extra, and each module name is what the suites import."""
    import tomllib

    from autoresearch.harness import peer_env

    extra = tomllib.loads((BENCHMARKS.parent / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert sorted(peer_env.PEER_PACKAGES) == sorted(extra["peers"])
    suites = "".join(p.read_text() for p in BENCHMARKS.glob("bench_*.py"))
    for module in peer_env.PEER_PACKAGES.values():
        assert f"import {module}" in suites or f"from {module} import" in suites, module


def test_peer_env_made_by_a_setup_that_exits_1(tmp_path):
    """`asv setup` exits 1 after making the environment (asv 0.6.5-0.6.6): `bench --peers` on a
    fresh clone judges it by the interpreter it leaves, and still fails when there is none."""
    from autoresearch.harness import peer_env

    python = tmp_path / "env" / "bin" / "python"

    def setup_that_exits_1(make: bool):
        if make:
            python.parent.mkdir(parents=True)
            python.touch()
        raise RuntimeError("asv setup exited 1")

    with pytest.raises(RuntimeError, match="exited 1"):
        peer_env.ensure_env(python, lambda: setup_that_exits_1(make=False))
    peer_env.ensure_env(python, lambda: setup_that_exits_1(make=True))
    assert python.exists()
    peer_env.ensure_env(python, lambda: pytest.fail("an existing environment is not made again"))

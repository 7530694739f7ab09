"""Retrieval metrics against brute force: every tie order enumerated, explicit rankings, small cases."""

import itertools

import numpy as np
import pytest

from llc_lib.kernels import decode
from llc_lib.kernels import retrieval as rt
from llc_lib.kernels.decode import hamming, hamming_topk, pack


def brute_expected_ap(dist, rel, R):
    """Mean AP@R over every permutation of the database followed by a stable sort on distance."""
    aps = []
    for perm in itertools.permutations(range(len(dist))):
        perm = np.array(perm)
        order = perm[np.argsort(dist[perm], kind="stable")]
        aps.append(rt.average_precision(rel[order][None, :R])[0])
    return float(np.mean(aps))


def test_average_precision_by_hand():
    # relevant at ranks 1, 3: AP = (1/1 + 2/3) / 2; nothing relevant: 0
    rel = np.array([[1, 0, 1, 0], [0, 0, 0, 0]])
    assert rt.average_precision(rel) == pytest.approx([(1 + 2 / 3) / 2, 0.0])


@pytest.mark.parametrize("trial", range(40))
def test_tie_aware_map_equals_enumeration_of_all_tie_orders(trial):
    rng = np.random.default_rng(trial)
    m, k = int(rng.integers(2, 8)), 3
    dist = rng.integers(0, k + 1, m)
    rel = rng.random(m) < 0.4
    if trial == 0:  # the cut-off splits a big tie group holding relevant and irrelevant items
        dist, rel = np.array([0, 1, 1, 1, 1, 2]), np.array([False, True, False, True, False, True])
    R = 3 if trial == 0 else int(rng.integers(1, m + 1))
    n = np.bincount(dist, minlength=k + 1)[None]
    r = np.bincount(dist[rel], minlength=k + 1)[None]
    assert rt.map_tie_aware(n, r, R)[0] == pytest.approx(brute_expected_ap(dist, rel, R), abs=1e-12)


def test_without_ties_tie_aware_equals_stable_map():
    rng = np.random.default_rng(0)
    k = 6
    db = np.array([[int(b) for b in np.binary_repr(i, k)] for i in range(2**k)]) * 2 - 1  # all distinct codes
    q = db[[0]]
    labels = rng.integers(0, 3, len(db))
    full = rt.evaluate_hamming(q, db, labels[:1], labels, R=len(db))
    # distances to one query repeat (binomial counts), so compare with an explicit sort of the same ranking
    d = hamming(pack(q), pack(db))[0]
    order = np.argsort(d, kind="stable")
    assert full["map_stable"] == pytest.approx(rt.average_precision((labels[order] == labels[0])[None])[0])
    # unique distances: a database at distinct distances 0..k from the query
    chain = np.array([[1] * (k - j) + [-1] * j for j in range(k + 1)])
    lab = np.array([0, 1, 0, 0, 1, 1, 0])
    res = rt.evaluate_hamming(chain[[0]], chain, lab[:1], lab, R=4)
    assert res["map_tie_aware"] == pytest.approx(res["map_stable"])
    assert res["ties"]["split_rate"] == 0.0


def test_stable_map_orders_ties_by_database_index():
    q = np.array([[1, 1]])
    db = np.array([[1, -1], [-1, 1], [1, 1]])  # distances 1, 1, 0
    lab = np.array([5, 0, 0])
    ap, top = rt.map_stable(pack(q), pack(db), np.array([0]), lab, R=2)
    assert top.tolist() == [[2, 0]]  # the exact match, then the lower-index of the two tied items
    assert ap[0] == pytest.approx(1.0)  # relevant at rank 1 only


@pytest.mark.parametrize("bits", [10, 64, 130, 200])  # one word, a full word, uint8 and uint16 distances
def test_hamming_topk_matches_brute_force_with_ties(bits, monkeypatch):
    rng = np.random.default_rng(bits)
    q, db = rng.random((37, bits)) < 0.5, rng.random((300, bits)) < 0.5
    db[100:140] = db[7]  # a run of equal codes: ties cut at the k-th place
    d = (q[:, None, :] != db[None, :, :]).sum(-1)
    monkeypatch.setattr(decode, "_CHUNK", 64)  # several chunks per query
    monkeypatch.setattr(decode, "_SAMPLE", 40)  # the k-th distance bounded from part of the database
    monkeypatch.setattr(decode, "_GROUP", 3)  # groups of queries that do not divide a thread's block
    for k in (1, 50, 300):
        idx, dist = hamming_topk(pack(q), pack(db), k, threads=2)
        want = np.argsort(d, axis=1, kind="stable")[:, :k]
        assert np.array_equal(idx, want)
        assert np.array_equal(dist, np.take_along_axis(d, want, 1))
    with pytest.raises(ValueError, match="k must lie"):
        hamming_topk(pack(q), pack(db), 301)


def test_expected_relevant_and_tie_stats():
    # one query; distances: 2 items at 0 (1 relevant), 4 at 1 (2 relevant)
    n, r = np.array([[2, 4, 0]]), np.array([[1, 2, 0]])
    got = rt.expected_relevant_at(n, r, [1, 2, 3, 6])
    assert got[0] == pytest.approx([0.5, 1.0, 1.5, 3.0])
    s = rt.tie_stats(n, R=3)
    assert s["split_rate"] == 1.0 and s["mean_boundary_group"] == 4 and s["mean_open_slots"] == 1
    assert rt.tie_stats(n, R=2)["split_rate"] == 0.0


def test_real_ranking_against_sorting():
    rng = np.random.default_rng(2)
    q, db = rng.normal(size=(20, 5)), rng.normal(size=(200, 5))
    ql, dl = rng.integers(0, 4, 20), rng.integers(0, 4, 200)
    cut = [1, 10, 50, 200]
    res = rt.rank_real(q, db, ql, dl, R=30, metric="cosine", cutoffs=cut)
    sc = rt.real_scores(q, db, "cosine")
    order = np.argsort(-sc, axis=1, kind="stable")
    assert np.array_equal(res["top"], order[:, :30])
    rel = dl[order] == ql[:, None]
    assert res["ap"] == pytest.approx(rt.average_precision(rel[:, :30]))
    assert res["relevant_at"] == pytest.approx(np.stack([rel[:, :c].sum(1) for c in cut], 1))
    e = rt.evaluate_real(q, db, ql, dl, R=30, metric="euclidean")
    d2 = ((q[:, None, :] - db[None]) ** 2).sum(-1)
    rel_e = dl[np.argsort(d2, axis=1, kind="stable")] == ql[:, None]
    assert e["map"] == pytest.approx(rt.average_precision(rel_e[:, :30]).mean())
    assert e["pr"]["recall"][-1] == pytest.approx(1.0)


def test_real_ranking_ties_follow_database_index_and_recall_skips_empty_queries():
    q = np.ones((2, 3))
    db = np.ones((10, 3))  # every database item has the same score
    dl = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    res = rt.rank_real(q, db, np.array([0, 5]), dl, R=4, cutoffs=[1, 2, 10])
    assert res["top"].tolist() == [[0, 1, 2, 3]] * 2
    assert res["relevant_at"][0].tolist() == [1, 1, 5]  # relevant at positions 0, 2, 4, 6, 8
    assert res["relevant_at"][1].tolist() == [0, 0, 0]  # class 5 has nothing in the database
    pr = rt.pr_curve(res["relevant_at"], [1, 2, 10], np.array([5, 0]))
    assert pr["recall"] == pytest.approx([0.2, 0.2, 1.0]) and pr["precision"] == pytest.approx([0.5, 0.25, 0.25])


def test_real_ranking_refuses_non_finite_features():
    db = np.ones((10, 3))
    db[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rt.rank_real(np.ones((2, 3)), db, np.array([0, 1]), np.arange(10) % 2, R=4)


def test_class_index_codes_are_the_binary_class_index():
    from llc_lib.kernels.retrieval import class_index_codes

    c = class_index_codes(np.array([0, 5, 99]), 100)
    assert c.shape == (3, 7) and c.dtype == np.int8
    assert c[1].tolist() == [-1, -1, -1, -1, 1, -1, 1]  # 5 = 0000101
    assert len({tuple(r) for r in class_index_codes(np.arange(100), 100)}) == 100


def test_retrieval_refuses_mismatched_code_lengths_and_label_counts():
    rng = np.random.default_rng(3)
    q5, db6 = rng.random((4, 5)) < 0.5, rng.random((9, 6)) < 0.5
    ql, dl = np.arange(4) % 2, np.arange(9) % 2
    with pytest.raises(ValueError, match="5 bits.*6"):
        rt.evaluate_hamming(q5, db6, ql, dl, R=3)
    db5 = db6[:, :5]
    for bad_q, bad_db in [(ql[:3], dl), (ql, dl[:8]), (ql[:, None], dl)]:
        with pytest.raises(ValueError, match="labels"):
            rt.evaluate_hamming(q5, db5, bad_q, bad_db, R=3)
        with pytest.raises(ValueError, match="labels"):
            rt.map_stable(pack(q5), pack(db5), bad_q, bad_db, R=3)
        with pytest.raises(ValueError, match="labels"):
            rt.distance_histograms(pack(q5), pack(db5), bad_q, bad_db, 5)
        with pytest.raises(ValueError, match="labels"):
            rt.evaluate_real(q5 * 1.0, db5 * 1.0, bad_q, bad_db, R=3)
    # packed 6-bit codes read as 5-bit ones would put distance-6 counts into the next query's histogram
    with pytest.raises(ValueError, match="beyond bit 5"):
        rt.distance_histograms(pack(np.ones((4, 6))), pack(db6), ql, dl, 5)
    with pytest.raises(ValueError, match="bits=70"):
        rt.distance_histograms(pack(q5), pack(db5), ql, dl, 70)
    with pytest.raises(ValueError):
        rt.map_stable(pack(q5), pack(np.ones((9, 70))), ql, dl, R=3)
    with pytest.raises(ValueError, match="5 dimensions.*6"):
        rt.evaluate_real(q5 * 1.0, db6 * 1.0, ql, dl, R=3)
    n, _ = rt.distance_histograms(pack(q5), pack(db5), ql, dl, 5)  # consistent inputs still work
    assert n.shape == (4, 6) and (n.sum(1) == 9).all()


def test_hypergeometric_weights_are_the_c_library_exp_on_every_cpu():
    """numpy's AVX-512 exp differs from the C library's in the last bit for a few % of arguments; the weights
    of the tie-aware MAP take the C library's (``math.exp``), so every CPU gives the same floats."""
    import math

    from scipy.special import gammaln

    def lc(a, b):
        return float(gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0))

    total, good = 2000, np.arange(0, 400, 7)[:, None]
    draws, x = np.arange(1, 300, 11)[None, :, None], np.arange(0, 60)[None, None, :]
    got = rt._hypergeom_pmf(x, total, good[:, :, None], draws)
    G, D, X = np.broadcast_arrays(good[:, :, None], draws, x)
    want = [
        math.exp(lc(g, v) + lc(total - g, d - v) - lc(total, d)) if v <= min(g, d) and d - v <= total - g else 0.0
        for g, d, v in zip(G.ravel().tolist(), D.ravel().tolist(), X.ravel().tolist())
    ]
    assert got.ravel().tolist() == want  # bit for bit


def test_tie_aware_map_is_the_same_float_on_avx2_and_avx512():
    """A case whose MAP came out ...544 with numpy's AVX-512 exp and ...545 with the C library's (what an AVX2
    CPU uses): every CPU gives ...545."""
    rng = np.random.default_rng(39)
    bits, classes, p = 32, 10, 0.25
    centres = rng.integers(0, 2, (classes, bits))
    ql, dl = rng.integers(0, classes, 200), rng.integers(0, classes, 2000)

    def codes(labels):
        c = centres[labels].copy()
        c[rng.random(c.shape) < p] ^= 1
        return c * 2 - 1

    n, r = rt.distance_histograms(pack(codes(ql)), pack(codes(dl)), ql, dl, bits)
    assert float(rt.map_tie_aware(n, r, 100).mean()) == 0.6324535058328545


def test_real_scores_are_float64_so_near_ties_rank_alike_on_every_machine():
    """Two database items whose exact scores differ below float32's resolution: float32 products tie them (and
    each BLAS kernel rounds such ties its own way); float64 ranks the nearer one first."""
    q = np.array([[1.0, 1.0]], np.float32)
    db = np.array([[1.0, 0.0], [1.0, 2.0**-30]], np.float32)
    assert rt.real_scores(q, db, "euclidean").dtype == np.float64
    for metric in ("euclidean", "cosine"):
        res = rt.rank_real(q, db, np.array([0]), np.array([0, 1]), R=2, metric=metric)
        assert res["top"][0].tolist() == [1, 0], metric


def test_hamming_topk_of_no_queries_is_empty():
    db = pack(np.random.default_rng(0).random((20, 16)) < 0.5)
    idx, dist = hamming_topk(db[:0], db, 3)
    assert idx.shape == dist.shape == (0, 3)

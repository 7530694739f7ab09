import numpy as np
import pytest

from llc_lib.kernels.codebooks import binarize
from llc_lib.kernels.decode import ed_decode, hamming, mhd_decode, pack, to_bits
from llc_lib.kernels.metrics import bits_right_split, code_metrics
from llc_lib.kernels.taxonomy import hamming_matrix


def brute(inst, cls):
    """Reference decoders on unpacked +-1 codes with Python loops."""
    mhd_pred, ties, ed_pred, n_match = [], [], [], []
    for v in inst:
        d = [int((v != c).sum()) for c in cls]
        m = min(d)
        mhd_pred.append(d.index(m))
        ties.append(d.count(m))
        exact = [j for j, dj in enumerate(d) if dj == 0]
        ed_pred.append(exact[0] if exact else -1)
        n_match.append(len(exact))
    return np.array(mhd_pred), np.array(ties), np.array(ed_pred), np.array(n_match)


@pytest.mark.parametrize("k", [1, 3, 7, 20, 64, 65, 130, 200])
def test_decoders_match_brute_force_with_ties_and_duplicates(k):
    rng = np.random.default_rng(k)
    cls = np.where(rng.random((12, k)) < 0.5, 1, -1)
    cls[5] = cls[2]  # duplicate class code
    inst = np.where(rng.random((300, k)) < 0.5, 1, -1)
    inst[:40] = cls[rng.integers(0, 12, 40)]  # many exact matches, including the duplicated code
    mp, ties, ep, nm = brute(inst, cls)
    m, e = mhd_decode(inst, cls), ed_decode(inst, cls)
    assert np.array_equal(m["pred"], mp) and np.array_equal(m["n_ties"], ties)
    assert np.array_equal(e["pred"], ep) and np.array_equal(e["n_match"], nm)
    if k <= 7:
        assert (ties > 1).any()  # the test really exercises ties


def test_packed_hamming_equals_unpacked():
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 100)) < 0.5, rng.random((9, 100)) < 0.5
    want = (a[:, None, :] != b[None, :, :]).sum(-1)
    assert np.array_equal(hamming(pack(a), pack(b)), want)
    assert np.array_equal(hamming(pack(a), pack(b), chunk=7), want)
    assert pack(a).shape == (50, 2) and pack(a).dtype == np.uint64


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError):
        pack(np.ones(5))
    with pytest.raises(ValueError):
        hamming(pack(np.ones((2, 3))), pack(np.ones((2, 70))))


def test_code_metrics_tie_conventions():
    cls = np.array([[1, 1], [1, 1], [-1, -1]])  # classes 0 and 1 share a code
    inst = np.array([[1, 1], [1, 1], [-1, 1], [-1, -1]])
    y = np.array([0, 1, 2, 2])
    r = code_metrics(inst, cls, y)
    # ED: sample0 -> class 0 (correct), sample1 -> class 0 (wrong by rule), sample2 no match, sample3 correct
    assert r["ed_acc"] == pytest.approx(2 / 4)
    assert r["ed_acc_expected"] == pytest.approx((0.5 + 0.5 + 0 + 1) / 4)
    assert r["ed_acc_official"] == pytest.approx(3 / 4)
    assert r["ed_no_match_rate"] == pytest.approx(1 / 4)
    # MHD: sample2 is at distance 1 from all three classes -> 3-way tie containing class 2
    assert r["mhd_acc"] == pytest.approx(2 / 4)
    assert r["mhd_acc_expected"] == pytest.approx((0.5 + 0.5 + 1 / 3 + 1) / 4)
    assert r["mhd_tie_rate"] == pytest.approx(3 / 4)
    assert r["bits_right"] == pytest.approx((2 + 2 + 1 + 2) / 4)
    assert r["unique_codes"] == 2


def test_mhd_without_ties_and_on_packed_codes():
    rng = np.random.default_rng(5)
    inst, cls = rng.random((500, 20)) < 0.5, rng.random((30, 20)) < 0.5
    full = mhd_decode(inst, cls)
    fast = mhd_decode(pack(inst), pack(cls), ties=False, threads=2)
    assert "n_ties" not in fast
    assert np.array_equal(fast["pred"], full["pred"]) and np.array_equal(fast["dist"], full["dist"])
    assert hamming(pack(inst), pack(cls)).dtype == np.uint8
    assert hamming(pack(rng.random((3, 300)) < 0.5), pack(rng.random((4, 300)) < 0.5)).dtype == np.uint16


def test_bits_right_split_by_whether_the_class_is_right():
    codes = np.array([[1, 1, 1, 1], [-1, -1, 1, 1], [-1, -1, -1, -1]])
    labels, predicted = np.array([0, 1, 2, 0]), np.array([0, 1, 0, 2])
    inst = np.array(
        [
            [1, 1, 1, -1],  # class 0, predicted right: 3 bits right
            [-1, -1, 1, 1],  # class 1, right: 4
            [1, -1, -1, -1],  # class 2, predicted 0: 3
            [-1, -1, -1, -1],
        ]
    )  # class 0, predicted 2: 0
    s = bits_right_split(inst, codes, labels, predicted)
    assert s == {
        "if_class_code_right": 3.5,
        "if_class_code_wrong": 1.5,
        "of_predicted_class_code": 2.0,
        "exact_if_class_code_right": 0.5,
    }
    assert np.isnan(bits_right_split(inst, codes, labels, labels)["if_class_code_wrong"])


def test_real_codebook_with_exact_zeros_is_read_as_binarize_reads_it():
    reals = np.array([[0.0, 1.0, -1.0], [0.5, 0.0, 0.0], [-0.0, -2.0, 3.0], [0.0, 0.0, 0.0]])
    codes = binarize(reals)  # 0 -> -1
    assert codes.tolist() == [[-1, 1, -1], [1, -1, -1], [-1, -1, 1], [-1, -1, -1]]
    assert np.array_equal(to_bits(reals), codes > 0) and np.array_equal(pack(reals), pack(codes))
    inst, y = np.r_[codes, -codes], np.array([0, 1, 2, 3, 0, 1, 2, 3])
    for key in ("pred", "dist", "n_ties"):
        assert np.array_equal(mhd_decode(inst, reals)[key], mhd_decode(inst, codes)[key])
    assert ed_decode(inst, reals)["pred"].tolist() == [0, 1, 2, 3, -1, -1, -1, -1]
    assert code_metrics(inst, reals, y) == code_metrics(inst, codes, y)
    assert code_metrics(inst, reals, y)["unique_codes"] == 4
    pred = np.array([0, 1, 2, 3, 1, 2, 3, 0])
    assert bits_right_split(inst, reals, y, pred) == bits_right_split(inst, codes, y, pred)
    assert np.array_equal(hamming_matrix(reals), hamming_matrix(codes))


def test_instance_output_of_exactly_zero_is_bit_minus_one():
    z = np.array([[0.0, -0.5], [0.0, 0.7], [-0.0, 0.0], [1e-30, -1e-30]])
    cls = np.array([[1, -1], [-1, -1], [-1, 1]])
    assert ed_decode(z, cls)["pred"].tolist() == [1, 2, 1, 0]  # z > 0 -> +1, z <= 0 -> -1
    assert mhd_decode(z, cls)["dist"].tolist() == [0, 0, 0, 0]
    assert np.array_equal(pack(z), pack(binarize(z)))
    assert code_metrics(z, cls, [1, 2, 1, 0])["ed_acc"] == 1.0

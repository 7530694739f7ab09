import numpy as np
import pytest
import torch

from llc_lib.engine import codebook_file
from llc_lib.engine.head import LLCHead, binarize_ste
from llc_lib.kernels import codebooks as cb


def test_ste_forward_sign_with_zero_to_minus_one():
    x = torch.tensor([-2.0, -0.0, 0.0, 1e-8, 3.0])
    assert binarize_ste(x).tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0]
    assert cb.binarize(np.array([0.0, -1.0, 2.0])).tolist() == [-1, -1, 1]


def test_ste_gradient_is_identity():
    x = torch.randn(4, 6, requires_grad=True)
    g = torch.randn(4, 6)
    binarize_ste(x).backward(g)
    assert torch.equal(x.grad, g)


def test_llc_head_logits_match_definition():
    torch.manual_seed(0)
    head = LLCHead(feature_dim=12, bits=5, num_classes=7)
    f = torch.randn(3, 12)
    want = (f @ head.proj.weight.t()) @ torch.where(head.codebook > 0, 1.0, -1.0).t()
    assert torch.allclose(head(f), want / 5**0.5, atol=1e-6)  # scaled head: divided by sqrt(k)
    want3 = (f @ head.proj.weight.t())[:, :3] @ torch.where(head.codebook > 0, 1.0, -1.0)[:, :3].t()
    assert torch.allclose(head(f, bits=3), want3 / 3**0.5, atol=1e-6)
    head.scaled = False  # the official formula
    assert torch.allclose(head(f), want, atol=1e-6)


def test_codebook_gradient_flows_through_sign():
    torch.manual_seed(0)
    head = LLCHead(8, 4, 3)
    head(torch.randn(5, 8)).sum().backward()
    assert head.codebook.grad is not None and head.codebook.grad.abs().sum() > 0


def test_random_codebook_shape_determinism_and_duplicates():
    a, b = cb.random_codebook(100, 20, seed=3), cb.random_codebook(100, 20, seed=3)
    assert a.shape == (100, 20) and a.dtype == np.int8 and set(np.unique(a)) <= {-1, 1}
    assert np.array_equal(a, b) and not np.array_equal(a, cb.random_codebook(100, 20, seed=4))
    assert cb.num_unique_codes(cb.random_codebook(100, 4, seed=0)) <= 16  # 4 bits cannot hold 100 codes


def test_svd_codebook_is_best_rank_k_classifier():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(30, 16))
    codes, reals, proj = cb.svd_codebook(w, 16)
    assert codes.shape == (30, 16) and reals.shape == (30, 16) and proj.shape == (16, 16)
    # full rank: reals @ proj reconstructs the class-centred classifier
    assert np.allclose(reals @ proj, w - w.mean(0), atol=1e-4)
    c2, r2, p2 = cb.svd_codebook(w, 5)
    assert np.array_equal(c2, codes[:, :5]) and np.allclose(r2, reals[:, :5], atol=1e-5)
    with pytest.raises(ValueError):
        cb.svd_codebook(w, 17)


def test_cca_codebook_shapes_and_determinism():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    x = rng.normal(size=(500, 12)) + np.eye(10, 12)[y] * 3
    a = cb.cca_codebook(x, y, 10, 6)
    b = cb.cca_codebook(x, y, 10, 6)
    assert a[0].shape == (10, 6) and a[2].shape == (6, 12)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    with pytest.raises(ValueError):
        cb.cca_codebook(x, y, 10, 10)  # at most C-1 = 9 directions


def test_unique_codes_of_a_codebook_and_of_its_prefix():
    codes = np.array([[1, 1, -1], [1, -1, 1], [1, 1, 1]])
    assert cb.num_unique_codes(codes) == 3 and cb.num_unique_codes(codes[:, :2]) == 2


def test_save_load_roundtrip_and_shape_check(tmp_path):
    reals = np.random.default_rng(0).normal(size=(10, 7)).astype(np.float32)
    p = tmp_path / "cb.npz"
    codebook_file.save_codebook(p, reals, [f"c{i}" for i in range(10)])
    z = codebook_file.load_codebook(p, num_classes=10, bits=7)
    assert np.array_equal(z["reals"], reals) and np.array_equal(z["codes"], cb.binarize(reals))
    with pytest.raises(ValueError, match="7-bit"):
        codebook_file.load_codebook(p, bits=8)
    with pytest.raises(ValueError, match="codebook shape"):
        LLCHead(4, 8, 10).load_codebook(reals)

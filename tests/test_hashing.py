"""HashNet and CSQ baselines: losses against their formulas, hash centres, training and checkpoints."""

import numpy as np
import pytest
import torch

from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.ckpt import CheckpointError, load_checkpoint
from llc_lib.engine.inference import outputs
from llc_lib.engine.models import build_model
from llc_lib.engine.train import train
from llc_lib.kernels import codebooks as cb
from llc_lib.methods.csq import center_loss as csq_loss
from llc_lib.methods.csq import centers as csq_centers
from llc_lib.methods.hashnet import pair_loss as hashnet_loss

CPU = torch.device("cpu")


def test_hashnet_loss_equals_pairwise_formula():
    torch.manual_seed(0)
    z, y, beta = torch.randn(6, 4), torch.tensor([0, 0, 1, 2, 1, 0]), 2.0
    h = torch.tanh(beta * z)
    alpha = 10 / 4
    pos = [(i, j) for i in range(6) for j in range(6) if i != j and y[i] == y[j]]
    neg = [(i, j) for i in range(6) for j in range(6) if i != j and y[i] != y[j]]
    n = len(pos) + len(neg)
    total = 0.0
    for pairs, s in ((pos, 1.0), (neg, 0.0)):
        for i, j in pairs:
            ip = alpha * float(h[i] @ h[j])
            total += (n / len(pairs)) * (np.log1p(np.exp(ip)) - s * ip)
    assert float(hashnet_loss(z, y, beta)) == pytest.approx(total / n, rel=1e-5)


def test_csq_loss_equals_bce_on_tanh():
    torch.manual_seed(1)
    z = torch.randn(5, 8)
    c = torch.where(torch.rand(5, 8) < 0.5, 1.0, -1.0)
    h = torch.tanh(z)
    t = (c + 1) / 2
    bce = -(t * torch.log((1 + h) / 2) + (1 - t) * torch.log((1 - h) / 2)).mean()
    want = bce + 1e-4 * ((h.abs() - 1) ** 2).mean()
    assert float(csq_loss(z, c)) == pytest.approx(float(want), rel=1e-5)


def test_csq_centres():
    had = csq_centers(100, 64)
    assert had.shape == (100, 64) and cb.num_unique_codes(had) == 100
    d = (had[:, None, :] != had[None, :, :]).sum(-1)
    assert set(np.unique(d[~np.eye(100, dtype=bool)])) <= {32, 64}  # Hadamard rows and their negations
    rnd = csq_centers(100, 10, seed=3)  # 10 is no power of two: i.i.d. fair bits, seeded
    assert np.array_equal(rnd, csq_centers(100, 10, seed=3)) and set(np.unique(rnd)) == {-1, 1}
    assert csq_centers(100, 32).shape == (100, 32)  # 100 > 2 * 32: random too


@pytest.mark.parametrize("mode", ["hashnet", "csq"])
def test_hash_training_runs_resumes_and_refuses_other_widths(tiny, tmp_path, mode):
    cfg = TrainConfig(mode=mode, bits=8, nested=(4, 8), epochs=2, batch_size=16, lr=0.05, head_lr_mult=10)
    torch.manual_seed(0)
    model = build_model("hash", 5, width=4, widths=(4, 8))
    model.head.centers.copy_(torch.from_numpy(np.concatenate([csq_centers(5, 4), csq_centers(5, 8)], 1)))
    p = tmp_path / "h.pt"
    hist = train(model, tiny, cfg, device=CPU, ckpt=p, progress=False)
    assert len(hist) == 2 and np.isfinite(hist[-1]["loss"]) and "train_acc" not in hist[-1]
    ck = load_checkpoint(p, model)
    assert ck["meta"]["head"] == "hash" and ck["meta"]["bits"] == [4, 8]
    assert torch.equal(ck["model"]["head.centers"], model.head.centers)
    out = outputs(model, tiny, CPU)
    assert out["proj"].shape == (len(tiny), 12) and "logits" not in out
    with pytest.raises(CheckpointError, match="bits"):
        load_checkpoint(p, build_model("hash", 5, width=4, widths=(4, 16)))
    with pytest.raises(ValueError, match="hash heads"):
        train(build_model("hash", 5, width=4, widths=(4,)), tiny, cfg, device=CPU, progress=False)
    with pytest.raises(ValueError, match="needs a hashing model"):
        train(build_model("llc", 5, width=4, bits=8), tiny, cfg, device=CPU, progress=False)


def test_hash_head_gets_its_learning_rate():
    from llc_lib.engine.train import _param_groups

    model = build_model("hash", 5, width=4, widths=(4,))
    groups = _param_groups(model, TrainConfig(mode="hashnet", bits=4, nested=(4,), lr=0.01, head_lr_mult=10))
    head = {id(p) for p in model.head.parameters()}
    for g in groups:
        ids = {id(p) for p in g["params"]}
        assert ids <= head or not ids & head
        assert g["lr"] == pytest.approx(0.1 if ids <= head else 0.01)


def test_csq_models_built_by_the_run_graph_hold_their_hash_centres(tmp_path):
    from llc_lib.config.recipe import TrainConfig
    from llc_lib.graph.selection import DataSel
    from llc_lib.graph.spec import Arch, Spec
    from llc_lib.graph.workspace import Workspace
    from llc_lib.methods import csq

    from conftest import synthetic_dataset

    ws = Workspace(tmp_path, torch.device("cpu"), progress=False)
    ws.store.preload((DataSel(), "train"), synthetic_dataset())
    cfg = TrainConfig(mode="csq", bits=16, nested=(4, 16), epochs=1, seed=3)
    model = ws.build(Spec(cfg, Arch(width=4), DataSel()))
    want = np.concatenate([csq.centers(5, 4, 3), csq.centers(5, 16, 3)], axis=1)
    assert np.array_equal(model.head.centers.numpy(), want)


def test_csq_public_centres_are_hadamard_rows_then_balanced_rows():
    from scipy.linalg import hadamard

    pub = csq_centers(100, 16, seed=1, scheme="public")
    h = hadamard(16)
    assert np.array_equal(pub[:32], np.concatenate([h, -h]))  # all 2k Hadamard rows first
    assert (pub[32:] == -1).sum(1).tolist() == [8] * 68  # then rows with exactly k/2 entries -1
    assert np.array_equal(pub, csq_centers(100, 16, seed=1, scheme="public"))
    assert not np.array_equal(pub, csq_centers(100, 16, seed=2, scheme="public"))
    # 10 bits has no Sylvester Hadamard matrix: the paper's fallback, i.i.d. fair bits, as the paper scheme
    assert np.array_equal(csq_centers(100, 10, 3, "public"), csq_centers(100, 10, 3, "paper"))
    assert np.array_equal(csq_centers(100, 64, 3, "public"), csq_centers(100, 64, 3, "paper"))
    with pytest.raises(ValueError, match="scheme"):
        csq_centers(100, 16, scheme="hadamard")


def test_csq_models_of_the_profiles_use_the_public_centres_and_hashnet_keeps_its_key():
    from llc_lib.config.profiles import get_profile
    from llc_lib.graph import plan

    p = get_profile("cpu")
    assert plan.hashing(p, "csq", 0).cfg.csq_centers == "public"
    assert plan.hashing(p, "hashnet", 0).cfg.csq_centers == "paper"  # the default: not in HashNet's key
    from llc_lib.graph.spec import canonical

    assert "csq_centers" not in canonical("cfg", plan.hashing(p, "hashnet", 0).cfg)
    assert canonical("cfg", plan.hashing(p, "csq", 0).cfg)["csq_centers"] == "public"


@pytest.mark.parametrize("name", ["cpu", "gpu"])
def test_each_baseline_trains_at_least_its_published_length(name):
    """By training images seen: HashNet's 10,000 iterations of 72 images and CSQ's 90 epochs of 13,000 images,
    in epochs of CIFAR-100's 50,000 training images, rounded up; independent of LLC's Phase 2 length."""
    from llc_lib.config import overrides, profiles
    from llc_lib.graph import plan
    from llc_lib.methods import csq, hashnet

    p = profiles.get_profile(name)
    for method, module in (("hashnet", hashnet), ("csq", csq)):
        epochs = plan.hashing(p, method, 0).cfg.epochs
        published = module.published_epochs(50_000)
        assert published <= epochs < published + 1, (method, epochs, published)
        assert plan.hashing(p, method, 0, epochs=3).cfg.epochs == 3  # the notebook's equal-epochs override
    longer = overrides.apply_sets(p, ["instance.epochs=40"])
    assert [plan.hashing(longer, m, 0).cfg.epochs for m in ("hashnet", "csq")] == [15, 24]
    short = overrides.apply_sets(p, ["epochs=2"])  # smoke runs of a profile scale every length
    assert plan.hashing(short, "csq", 0).cfg.epochs < 24 and plan.hashing(short, "hashnet", 0).cfg.epochs < 15

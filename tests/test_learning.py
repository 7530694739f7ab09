"""Training really learns: a tiny real CIFAR-100 setting beats chance by a stated margin within seconds, and
the same check fails when the trainer is broken (wrong labels, no optimiser step)."""

import pytest
import torch

from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.inference import class_codes, head_logits, outputs
from llc_lib.graph.selection import DataSel
from llc_lib.graph.spec import Arch, CodebookSpec, Spec
from llc_lib.graph.workspace import Workspace
from llc_lib.kernels.metrics import code_metrics, top1

from conftest import real_data_or_skip

CLASSES, PER_CLASS, BITS = 10, 100, 8  # first 10 classes of the shipped split, 100 train images each
CHANCE = 1 / CLASSES
MARGIN = 0.10  # every accuracy must reach chance + 10 points (measured, seed 0: real 0.29, class code 0.25, MHD 0.24)
BITS_RIGHT = 0.60  # and instance codes must get 60 % of their bits right (chance 50 %; measured 0.66)
COMMON = dict(epochs=8, batch_size=50, lr=0.1, warmup=0.1)


def _specs():
    sel, arch = DataSel(per_class=PER_CLASS, classes=CLASSES), Arch(width=8)
    real = Spec(TrainConfig(mode="real", **COMMON), arch, sel, label="real")
    p1 = Spec(TrainConfig(mode="llc", bits=BITS, aux_weight=1.0, **COMMON), arch, sel, label="llc")
    p2 = Spec(
        TrainConfig(mode="instance", bits=BITS, epochs=4, batch_size=50, lr=0.01),
        arch,
        sel,
        "phase1",
        p1,
        CodebookSpec("learnt", BITS, p1),
        label="instance",
    )
    return real, p1, p2


def learn(root) -> dict:
    """Fit the three models and score them on the test images of the same classes."""
    ws = Workspace(root, torch.device("cpu"), progress=False)
    real, p1, p2 = (ws.fit(s) for s in _specs())
    te = ws.store.get(DataSel(per_class=None, classes=CLASSES), "test")
    y = te.labels.numpy()
    o1, o2 = outputs(p1, te, ws.device), outputs(p2, te, ws.device)
    m = code_metrics(o2["proj"], class_codes(p1), y)
    return {
        "real": top1(outputs(real, te, ws.device)["logits"], y),
        "class_code": top1(head_logits(p1, o1["proj"]), y),
        "mhd": m["mhd_acc"],
        "bits_right": m["bits_right"] / BITS,
    }


def learns(r: dict) -> bool:
    return all(r[k] >= CHANCE + MARGIN for k in ("real", "class_code", "mhd")) and r["bits_right"] >= BITS_RIGHT


@pytest.mark.slow
def test_tiny_real_cifar_beats_chance(tmp_path):
    real_data_or_skip()
    r = learn(tmp_path)
    assert learns(r), r


def _wrong_labels(monkeypatch):
    from llc_lib.engine import data

    orig = data.TrainBatches.epoch

    def shuffled(self, e):
        g = torch.Generator().manual_seed(e)
        for x, y in orig(self, e):
            yield x, y[torch.randperm(len(y), generator=g)]

    monkeypatch.setattr(data.TrainBatches, "epoch", shuffled)


def _no_step(monkeypatch):
    monkeypatch.setattr(torch.optim.SGD, "step", lambda self, closure=None: None)


@pytest.mark.slow
@pytest.mark.parametrize("breakage", [_wrong_labels, _no_step], ids=["wrong-labels", "no-optimiser-step"])
def test_the_learning_check_fails_for_a_broken_trainer(tmp_path, monkeypatch, breakage):
    real_data_or_skip()
    breakage(monkeypatch)
    r = learn(tmp_path)
    assert not learns(r), f"a broken trainer passed the learning check: {r}"

"""Import of the official LLC release format: a state dict of that exact layout with random weights."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

import llc_lib
from llc_lib.engine.ckpt import CheckpointError
from llc_lib.kernels.decode import mhd_decode

K, C = 20, 7


def official_layout(seed=0, phase1=True):
    """{'state_dict': ...} as the official main.py saves it: DataParallel 'module.' keys, torchvision ResNet50
    trunk names, fc_lr (k, 2048, 1, 1) and, in Phase 1, the codebook conv fc (C, k, 1, 1)."""
    torch.manual_seed(seed)
    trunk = torchvision.models.resnet50(weights=None)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so that a wrong mapping shows
        for m in trunk.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    sd = {f"module.{k}": v for k, v in trunk.state_dict().items() if not k.startswith("fc.")}
    sd["module.fc_lr.weight"] = torch.randn(K, 2048, 1, 1) * 0.05
    if phase1:
        sd["module.fc.weight"] = torch.randn(C, K, 1, 1)
    return {"epoch": 100, "arch": "ResNet50", "state_dict": sd}, trunk


def official_forward(trunk, sd, x, codebook=None):
    """The official ResNet.forward: trunk, avgpool, fc_lr, then fc with sign(weight) (x <= 0 -> -1)."""
    t = trunk.eval()
    f = t.avgpool(t.layer4(t.layer3(t.layer2(t.layer1(t.maxpool(t.relu(t.bn1(t.conv1(x)))))))))
    z = F.conv2d(f, sd["module.fc_lr.weight"])
    if codebook is None:
        return z.flatten(1)
    w = codebook.view(C, K, 1, 1)
    return F.conv2d(z, torch.where(w <= 0, -1.0, 1.0)).flatten(1)


def test_phase1_checkpoint_gives_the_official_logits(tmp_path):
    ck, trunk = official_layout()
    torch.save(ck, tmp_path / "model_best.pth")
    model = llc_lib.import_official(tmp_path / "model_best.pth")
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        want = official_forward(trunk, ck["state_dict"], x, ck["state_dict"]["module.fc.weight"])
        got = model(x)
    assert model.head.scaled is False and model.head.bits == K and model.head.num_classes == C
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4)


def test_phase2_checkpoint_with_npy_codebook(tmp_path):
    ck, trunk = official_layout(seed=1, phase1=False)
    book = np.random.default_rng(0).normal(size=(C, K)).astype(np.float32)
    np.save(tmp_path / "codebook.npy", book)
    model = llc_lib.import_official(ck, tmp_path / "codebook.npy")
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        out = official_forward(trunk, ck["state_dict"], x)  # instance-code model: fc_lr output only
        z = model.head.project(model.backbone(x))
    assert torch.allclose(z, out, rtol=1e-4, atol=1e-4)
    # the official MHD: argmax of sign(out) . codebook^T, where its loader maps the codebook to +-1
    want = (torch.where(out <= 0, -1.0, 1.0) @ torch.from_numpy(np.where(book >= 0, 1.0, -1.0)).float().T).argmax(1)
    got = mhd_decode(z.numpy(), book)["pred"]
    assert np.array_equal(got, want.numpy())


def test_bad_official_inputs(tmp_path):
    ck, _ = official_layout(phase1=False)
    with pytest.raises(CheckpointError, match="Phase 2"):
        llc_lib.import_official(ck)
    with pytest.raises(CheckpointError, match=r"expected \(num_classes, 20\)"):
        llc_lib.import_official(ck, np.zeros((C, K + 1)))
    with pytest.raises(CheckpointError, match="fc_lr"):
        llc_lib.import_official({"state_dict": {"module.conv1.weight": torch.zeros(1)}})
    ck["state_dict"]["module.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="unexpected"):
        llc_lib.import_official(ck, np.ones((C, K)))
    with pytest.raises(CheckpointError, match="does not exist"):
        llc_lib.import_official(tmp_path / "nope.pth")

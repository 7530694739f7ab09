import hashlib

import numpy as np
import pytest
import torch

from llc_lib.engine import data as D

from conftest import real_data_or_skip


def _write_cifar(path, n=200, **override):
    rng = np.random.default_rng(0)
    arrays = dict(
        images=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
        labels=(np.arange(n) % 100).astype(np.int16),
        coarse_labels=(np.arange(n) % 20).astype(np.int16),
        label_names=np.array([f"c{i}" for i in range(100)]),
        coarse_names=np.array([f"s{i}" for i in range(20)]),
        split=(np.arange(n) % 2).astype(np.uint8),
    )
    arrays.update(override)
    np.savez(path / "cifar100.npz", **arrays)


def _digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_loads_valid_file(tmp_path, monkeypatch):
    _write_cifar(tmp_path)
    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path))
    tr, te = D.load_cifar100("train"), D.load_cifar100("test")
    assert len(tr) == 100 and len(te) == 100 and tr.images.dtype == torch.uint8
    assert tr.num_classes == 100 and len(tr.coarse_names) == 20


def test_missing_file_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path))
    with pytest.raises(D.DataError, match=r"cifar100.npz is missing.*make data"):
        D.load_cifar100()


@pytest.mark.parametrize(
    "override,match",
    [
        (dict(images=np.zeros((200, 28, 28, 3), np.uint8)), "shape"),
        (dict(images=np.zeros((200, 32, 32, 3), np.float32)), "uint8"),
        (dict(labels=np.full(200, 100, np.int16)), r"'labels' values must lie in 0..99"),
        (dict(split=np.full(200, 3, np.uint8)), "'split'"),
        (dict(labels=np.zeros(10, np.int16)), "shape"),
    ],
)
def test_malformed_file_raises_one_clear_error_and_is_untouched(tmp_path, monkeypatch, override, match):
    _write_cifar(tmp_path, **override)
    before = _digest(tmp_path / "cifar100.npz")
    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path))
    with pytest.raises(D.DataError, match=match):
        D.load_cifar100()
    assert _digest(tmp_path / "cifar100.npz") == before


def test_corrupt_file(tmp_path, monkeypatch):
    (tmp_path / "cifar100.npz").write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path))
    with pytest.raises(D.DataError, match="corrupt"):
        D.load_cifar100()
    assert (tmp_path / "cifar100.npz").read_bytes() == b"PK\x03\x04 not really a zip"


def test_augment_is_crop_and_flip_of_the_padded_image():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (64, 32, 32, 3), dtype=torch.uint8)
    out = D.augment(imgs, torch.Generator().manual_seed(0))
    assert out.shape == imgs.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(imgs, (0, 0, 4, 4, 4, 4))
    oy, ox = torch.randint(0, 9, (64,), generator=g), torch.randint(0, 9, (64,), generator=g)
    flip = torch.rand(64, generator=g) < 0.5
    for i in range(64):
        crop = padded[i, oy[i] : oy[i] + 32, ox[i] : ox[i] + 32]
        assert torch.equal(out[i], crop.flip(1) if flip[i] else crop)


def test_batches_normalise_and_cover_everything(tiny):
    seen = []
    for x, y in D.batches(tiny, 16, torch.device("cpu"), shuffle=True, train_aug=True, seed=1):
        assert x.shape[1:] == (3, 32, 32) and x.dtype == torch.float32
        seen.append(y)
    assert sorted(torch.cat(seen).tolist()) == sorted(tiny.labels.tolist())


def test_subsets(tiny):
    sub = D.stratified_subset(tiny, 3, seed=0)
    assert len(sub) == 15 and torch.bincount(sub.labels).tolist() == [3] * 5
    cs = D.class_subset(tiny, [3, 1])
    assert cs.class_names == ("c3", "c1") and set(cs.labels.tolist()) == {0, 1} and len(cs) == 16
    with pytest.raises(ValueError):
        D.stratified_subset(tiny, 9)


def test_shipped_files_checksums_and_shapes():
    real_data_or_skip()
    from llc_lib.graph.sources import verify_checksums

    ok = verify_checksums()
    assert ok.get("cifar100.npz") is True
    tr, te = D.load_cifar100("train"), D.load_cifar100("test")
    assert len(tr) == 50_000 and len(te) == 10_000
    assert torch.bincount(tr.labels).tolist() == [500] * 100
    assert tr.class_names[0] == "apple" and tr.coarse_names[0] == "aquatic_mammals"
    for name in ("cifar10", "tinyimagenet"):
        assert len(D.load_ood(name)) == 5000

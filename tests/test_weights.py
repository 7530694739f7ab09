"""Committed weights: exported without optimiser state, installed verified, and loaded by the run graph
without training; the committed weights/cpu names every model the cpu profile's notebooks use."""
import json
from pathlib import Path

import pytest
import torch
from conftest import synthetic_dataset

from llc_lib import weights
from llc_lib.ckpt import CheckpointError, read_checkpoint
from llc_lib.config import TrainConfig
from llc_lib.graph import Arch, CodebookSpec, DataSel, Spec, Workspace

REPO = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")
SEL, ARCH = DataSel(), Arch(width=4)
LLC = TrainConfig(mode="llc", bits=6, nested=(3, 6), epochs=1, batch_size=16, lr=0.05)
P2 = LLC.replace(mode="instance", nested=(), lr=0.01)


def _ws(root, **kw):
    ws = Workspace(root, CPU, progress=False, **kw)
    ws.store.preload((SEL, "train"), synthetic_dataset())
    return ws


@pytest.fixture()
def trained(tmp_path):
    p1 = Spec(LLC, ARCH, SEL, label="llc")
    p2 = Spec(P2, ARCH, SEL, "phase1", p1, CodebookSpec("learnt", 6, p1), label="instance")
    ws = _ws(tmp_path / "runs")
    ws.fit(p2)
    return ws, p2


def test_exported_weights_load_without_training_and_give_the_same_model(trained, tmp_path, monkeypatch):
    ws, p2 = trained
    m = weights.export([p2], ws, tmp_path / "weights")
    assert set(m["files"]) == {f"ckpt/{p2.parent.name}.pt", f"ckpt/{p2.parent.name}.codebook.npz", f"ckpt/{p2.name}.pt"}
    ck = read_checkpoint(tmp_path / "weights" / "ckpt" / f"{p2.name}.pt")
    assert "optimizer" not in ck and "scheduler" not in ck and ck["key"] == p2.key
    weights.install(tmp_path / "weights", tmp_path / "fresh")
    fresh = _ws(tmp_path / "fresh", train=False)  # evaluation only: a missing model would raise, not train
    assert fresh.weights_digest(p2) == ws.weights_digest(p2)
    assert weights.install(tmp_path / "weights", tmp_path / "fresh") == []  # already there: nothing copied
    def resave(*a, **k):  # torch.save's bytes differ between processes: a re-export must copy, not save again
        raise AssertionError("an unchanged checkpoint was saved again")

    monkeypatch.setattr(weights, "save_atomic", resave)
    assert weights.export([p2], ws, tmp_path / "weights")["files"] == m["files"]


def test_a_reexport_keeps_the_codebook_file_its_kept_checkpoint_recorded(trained, tmp_path):
    """The same codebook in a file of other bytes (here: written without a field added since) must not
    replace the committed file: the kept Phase 2 checkpoint recorded that file's content hash as its input.
    Another codebook does replace it."""
    import numpy as np

    from llc_lib import codebook

    ws, p2 = trained
    weights.export([p2], ws, tmp_path / "weights")
    book = ws.ckpt_path(p2.parent).with_name(f"{p2.parent.name}.codebook.npz")
    committed = (tmp_path / "weights" / "ckpt" / book.name).read_bytes()
    arrays = {k: np.asarray(v) for k, v in codebook.load_codebook(book).items() if k not in ("content_sha256", "book_key")}
    np.savez(book, content_sha256=np.array(codebook._content_sha256(arrays)), **arrays)
    assert book.read_bytes() != committed
    weights.export([p2], ws, tmp_path / "weights")
    assert (tmp_path / "weights" / "ckpt" / book.name).read_bytes() == committed
    weights.install(tmp_path / "weights", tmp_path / "fresh")
    assert _ws(tmp_path / "fresh", train=False).weights_digest(p2) == ws.weights_digest(p2)  # its inputs match
    arrays["reals"] = -arrays["reals"]
    arrays["codes"] = -arrays["codes"]
    np.savez(book, content_sha256=np.array(codebook._content_sha256(arrays)), **arrays)
    weights.export([p2], ws, tmp_path / "weights")
    assert (tmp_path / "weights" / "ckpt" / book.name).read_bytes() == book.read_bytes()  # another codebook


def test_install_refuses_a_changed_file_and_never_overwrites(trained, tmp_path):
    ws, p2 = trained
    weights.export([p2], ws, tmp_path / "weights")
    target = tmp_path / "weights" / "ckpt" / f"{p2.name}.pt"
    good = target.read_bytes()
    target.write_bytes(good[:-20] + bytes(20))
    with pytest.raises(CheckpointError, match="differs from MANIFEST.json"):
        weights.install(tmp_path / "weights", tmp_path / "fresh")
    target.write_bytes(good)
    other = tmp_path / "fresh" / "ckpt" / f"{p2.name}.pt"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"someone else's run")
    with pytest.raises(CheckpointError, match="exists with other content"):
        weights.install(tmp_path / "weights", tmp_path / "fresh")
    assert other.read_bytes() == b"someone else's run"


def test_export_refuses_over_budget_and_unfinished_runs(trained, tmp_path, monkeypatch):
    ws, p2 = trained
    monkeypatch.setattr(weights, "MAX_BYTES", 1000)
    with pytest.raises(CheckpointError, match="over the"):
        weights.export([p2], ws, tmp_path / "weights")
    assert not (tmp_path / "weights").exists()
    with pytest.raises(CheckpointError, match="missing or unfinished"):
        weights.export([Spec(LLC.replace(lr=0.06), ARCH, SEL)], ws, tmp_path / "weights")


def test_committed_cpu_weights_cover_the_cpu_profile_within_budget():
    """Re-export (`python -m llc_lib weights --export`, after `make reproduce PROFILE=cpu`) when a recipe
    changes: every model the cpu notebooks use must be in weights/cpu."""
    from llc_lib.config import get_profile
    from llc_lib.manifest import notebook_specs

    manifest = json.loads((REPO / "weights" / "cpu" / "MANIFEST.json").read_text())
    names = {f"ckpt/{s.name}.pt" for specs in notebook_specs(get_profile("cpu"), 0).values()
             for top in specs for s in top.ancestors() + [top]}
    assert names <= set(manifest["files"]), sorted(names - set(manifest["files"]))
    assert manifest["bytes"] <= weights.MAX_BYTES
    assert sum((REPO / "weights" / "cpu" / f).stat().st_size for f in manifest["files"]) == manifest["bytes"]

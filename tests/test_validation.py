"""The validation split: a seeded held-out part of the training images that recipe choices are scored on, disjoint
from what the models train on, the same for every model seed, and absent (same selections, same keys) by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from llc_lib.config.overrides import apply_sets
from llc_lib.config.profiles import get_profile
from llc_lib.graph import plan
from llc_lib.graph.selection import DataSel, DataStore

from conftest import synthetic_dataset

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "cpu" / "MANIFEST.json"


def _store():
    store = DataStore("/nonexistent")
    store.preload(("cifar100", "train"), synthetic_dataset(10, 4, seed=3))
    return store


def _rows(ds) -> set[bytes]:
    return {bytes(img.numpy().tobytes()) for img in ds.images}


def test_the_validation_images_are_held_out_of_training_and_the_same_for_every_seed():
    store = _store()
    train0, val0 = (store.get(DataSel(seed=0, holdout=3), s) for s in ("train", "validation"))
    train1, val1 = (store.get(DataSel(seed=1, holdout=3), s) for s in ("train", "validation"))
    assert len(val0) == 12 and torch.equal(torch.bincount(val0.labels), torch.full((4,), 3))
    assert len(train0) == 28 and not _rows(train0) & _rows(val0)
    assert _rows(val0) == _rows(val1) and _rows(train0) == _rows(train1)
    subset = store.get(DataSel(per_class=5, seed=1, holdout=3), "train")  # a subset is drawn from the rest only
    assert len(subset) == 20 and not _rows(subset) & _rows(val0)


def test_no_holdout_is_the_whole_split_and_has_no_validation_set():
    store = _store()
    assert len(store.get(DataSel(), "train")) == 40
    with pytest.raises(ValueError, match="holdout"):
        store.get(DataSel(), "validation")
    with pytest.raises(ValueError, match="holdout"):
        plan.validation_data(get_profile("cpu"), 0)


def test_the_published_models_keep_their_keys_and_a_holdout_trains_new_ones():
    cpu = get_profile("cpu")
    committed = json.loads(WEIGHTS.read_text())["files"]
    names = [s.name for s in plan.headline(cpu, 0)]
    assert all(f"ckpt/{n}.pt" in committed for n in names)  # holdout=0 is not part of any key
    held = apply_sets(cpu, ["holdout=50"])
    assert held.overrides == ("holdout=50",)
    assert not {s.name for s in plan.headline(held, 0)} & set(names)
    assert plan.validation_data(held, 0).holdout == 50


def test_a_recipe_variant_with_a_holdout_is_scored_on_it_and_never_reads_the_test_split(tmp_path):
    from llc_lib.graph.workspace import Workspace
    from llc_lib.studies import Context
    from llc_lib.studies.instance import run_variant

    prof = apply_sets(get_profile("smoke"), ["epochs=1", "max_steps=1", "holdout=2", "subset=6"])
    ws = Workspace(tmp_path / "runs", torch.device("cpu"), progress=False)
    ws.store.preload(("cifar100", "train"), synthetic_dataset(12, 100, seed=1))
    ws.store.preload(("cifar100", "test"), synthetic_dataset(6, 100, seed=2))
    row = run_variant(Context(prof, ws, tmp_path / "fig"), "profile", 0, bits=(8,), train_per_class=4)
    assert "validation" in row and "test" not in row
    assert not any("/test/" in name for name in ws.store.used())
    assert any("/validation/" in name for name in ws.store.used())

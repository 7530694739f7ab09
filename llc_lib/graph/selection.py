"""Which images a model trains and is evaluated on: a ``DataSel`` names a selection of a dataset, and a
``DataStore`` loads selections from one data folder, once per process, with the hash of each (what results
files record and checkpoints are bound to)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..engine.data import (
    class_subset,
    data_dir,
    dataset_digest,
    load_cifar100,
    load_image_folders,
    load_ood,
    per_class_subset,
    stratified_indices,
    stratified_subset,
)

# The validation images are drawn with this seed, whatever the model's seed: every seed of a recipe is chosen on the
# same held-out images.
VALIDATION_SEED = 12345


@dataclass(frozen=True)
class DataSel:
    """Training images: ``dataset`` ('cifar100' or an ImageFolder set), ``per_class`` images of every class
    (None = all) chosen with ``seed``, then only the first ``classes`` classes (None = all); ``image_size``
    is the training crop of ImageFolder data. ``holdout`` (CIFAR-100): images per class of the training split set
    aside as the validation set (chosen with ``VALIDATION_SEED``); a selection with holdout > 0 trains on the rest,
    and ``DataStore.get(sel, 'validation')`` gives the held-out images (0 = no validation set, the whole split)."""

    dataset: str = "cifar100"
    per_class: int | None = None
    classes: int | None = None
    seed: int = 0
    image_size: int = 32
    holdout: int = 0


class DataStore:
    """The datasets of one data folder ``root`` (default ``data.data_dir()``: $LLC_DATA_DIR or data/), each
    loaded once per process."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root else data_dir()
        self._loaded: dict = {}
        self._digests: dict[tuple, str] = {}

    def get(self, sel: DataSel, split: str = "train"):
        """The images of ``sel`` from ``split`` ('train', 'test', or 'validation': the ``sel.holdout`` held-out
        training images per class): an ``ArrayDataset`` (CIFAR-100) or an ImageFolder subset."""
        if split not in ("train", "test", "validation"):
            raise ValueError(f"split must be 'train', 'test' or 'validation', got {split!r}")
        if sel.holdout and sel.dataset != "cifar100":
            raise ValueError(f"a validation set (holdout={sel.holdout}) is made of CIFAR-100 only, not {sel.dataset}")
        if split == "validation" and not sel.holdout:
            raise ValueError("the validation split needs a selection with holdout > 0 (e.g. --set holdout=50)")
        if (sel, split) in self._loaded:  # served already, or preloaded (in-memory data: tests, your own images)
            return self._loaded[(sel, split)]
        if sel.dataset == "cifar100":
            source = "test" if split == "test" else "train"  # the validation images are training images
            full = self._once(("cifar100", source), lambda: load_cifar100(source, self.root))
            return self._once((sel, split), lambda: self._cifar_selection(full, sel, split))
        folders = self._once(
            (sel.dataset, sel.image_size), lambda: load_image_folders(sel.dataset, sel.image_size, self.root)
        )
        return self._once((sel, split), lambda: per_class_subset(folders[0 if split == "train" else 1], sel.per_class))

    @staticmethod
    def _cifar_selection(full, sel: DataSel, split: str):
        if sel.holdout and split != "test":
            held = stratified_indices(full.labels, full.num_classes, sel.holdout, VALIDATION_SEED)
            rest = torch.ones(len(full), dtype=torch.bool)
            rest[held] = False
            full = full.take(held if split == "validation" else torch.nonzero(rest).flatten())
        ds = full if split == "validation" else stratified_subset(full, sel.per_class, sel.seed)
        return ds if sel.classes is None else class_subset(ds, range(sel.classes))

    def ood(self, name: str):
        """The OOD set ``name`` ('cifar10' or 'tinyimagenet', ``data.load_ood``) of this data folder."""
        return self._once(("ood", name), lambda: load_ood(name, self.root))

    def digest(self, sel: DataSel, split: str = "train") -> str:
        """``data.dataset_digest`` of ``get(sel, split)``, computed once per process."""
        if (sel, split) not in self._digests:
            self._digests[(sel, split)] = dataset_digest(self.get(sel, split))
        return self._digests[(sel, split)]

    def used(self) -> dict[str, str]:
        """{'<dataset>/<split>/<selection>': sha256} of every selection served so far, for the results files
        (what a number was computed on)."""
        return {
            f"{sel.dataset}/{split}/per_class={sel.per_class},classes={sel.classes},seed={sel.seed}"
            + (f",holdout={sel.holdout}" if sel.holdout else ""): self.digest(sel, split)
            for sel, split in [k for k in self._loaded if isinstance(k[0], DataSel)]
        }

    def preload(self, key: tuple, ds) -> None:
        """Serve ``ds`` instead of reading the folder: ``key`` = (DataSel, split) for one selection, or
        ('cifar100', split) for the whole split that selections are taken from (in-memory data, tests)."""
        self._loaded[key] = ds

    def _once(self, key, load):
        if key not in self._loaded:
            self._loaded[key] = load()
        return self._loaded[key]

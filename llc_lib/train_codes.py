"""Train LLC codes on your own labelled images: Phase 1 (class codes) then Phase 2 (instance codes), with a
held-out part of every class to score them, into a folder the public API loads.

    llc train-codes my_images/ --bits 16 --out my_codes/      # an ImageFolder: one sub-folder per class
    llc train-codes data.npz --bits 16 --out my_codes/        # 'images' (N, H, W, 3) uint8, 'labels' (N,)

    model = llc_lib.load("my_codes/model.pt")

The folder gets ``model.pt`` (the Phase 2 checkpoint: its frozen codebook holds the class codes), ``phase1.pt``
and ``model_card.json``: the classes, bits, the data's sha256, the held-out scores (class-code accuracy, MHD,
ED, bits right, unique class codes) and the recipe. The recipe is the cpu profile's ResNet-9 recipe (scaled to
``epochs``); images are resized to ``image_size`` (32) and standardised with CIFAR-100's channel statistics.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import torch

from .api import IMAGE_SUFFIXES, MODEL_CARD, InputError, check_images, read_images
from .config.profiles import get_profile
from .core.files import write_json
from .engine.data import ArrayDataset, dataset_digest, stratified_indices
from .engine.device import pick_device
from .graph.selection import DataSel
from .graph.spec import Arch, CodebookSpec, Spec
from .graph.workspace import Workspace
from .studies.evaluation import evaluate_llc


def read_labelled(path: Path | str, size: int = 32, convert: bool = False) -> ArrayDataset:
    """An ArrayDataset of labelled images: an ImageFolder (``path``/<class>/<image>, classes in sorted order,
    images resized to ``size``) or an .npz with 'images' (N, size, size, 3) uint8, 'labels' (N,) integers
    0..C-1 and optionally 'label_names'. InputError, in one line, for anything else."""
    path = Path(path)
    if path.is_dir():
        classes = sorted(p for p in path.iterdir() if p.is_dir())
        if len(classes) < 2:
            raise InputError(f"{path} needs one sub-folder of images per class, at least two; found {len(classes)}")
        images, labels = [], []
        for c, folder in enumerate(classes):
            files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise InputError(f"class folder {folder} holds no image files")
            images.append(read_images(files, size, convert)[0])
            labels += [c] * len(files)
        x, y, names = np.concatenate(images), np.array(labels), tuple(p.name for p in classes)
    elif path.suffix == ".npz" and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if "images" not in z.files or "labels" not in z.files:
                raise InputError(f"{path} needs arrays 'images' and 'labels' (it has {', '.join(z.files)})")
            x, y = check_images(z["images"], size), np.asarray(z["labels"])
            names = tuple(str(n) for n in z["label_names"]) if "label_names" in z.files else ()
    else:
        raise InputError(f"{path} is neither a folder of class folders nor an .npz of images and labels")
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise InputError(f"labels must be {len(x)} non-negative integers, one per image")
    c = int(y.max()) + 1
    if names and len(names) != c:
        raise InputError(f"{len(names)} label names for {c} classes")
    if np.bincount(y, minlength=c).min() < 2:
        raise InputError("every class needs at least two images (one to train on, one to hold out)")
    return ArrayDataset(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)), names or tuple(map(str, range(c))))


def split(ds: ArrayDataset, holdout: float, seed: int) -> tuple[ArrayDataset, ArrayDataset]:
    """(training, held-out) parts of ``ds``: the same number of images held out of every class, ``holdout`` of
    the smallest class (at least one), chosen with ``seed``, kept in dataset order."""
    if not 0 < holdout < 1:
        raise InputError(f"holdout must be a fraction in (0, 1), got {holdout}")
    per_class = max(1, int(round(holdout * np.bincount(ds.labels.numpy()).min())))
    held = stratified_indices(ds.labels, ds.num_classes, per_class, seed)
    rest = torch.ones(len(ds), dtype=torch.bool)
    rest[held] = False
    return ds.take(torch.nonzero(rest).flatten()), ds.take(held)


def train_codes(
    data: Path | str,
    out: Path | str,
    bits: int = 16,
    epochs: int = 15,
    phase2_epochs: int | None = None,
    width: int = 16,
    holdout: float = 0.1,
    seed: int = 0,
    batch_size: int | None = None,
    convert: bool = False,
    device: str | None = None,
) -> dict:
    """Train Phase 1 and Phase 2 on ``data`` (``read_labelled``) without its held-out part and write ``out``/
    model.pt, phase1.pt and model_card.json; returns the card. The recipe: the cpu profile's Phase 1 and Phase 2
    (ResNet-9 of ``width``, ``bits``-bit codes), Phase 1 for ``epochs``, Phase 2 for ``phase2_epochs`` (default:
    the profile's ratio, twice Phase 1's). Checkpoints go to ``out``/runs, so a killed run resumes."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 4096:
        raise InputError(f"bits must be an integer in 1..4096, got {bits!r}")
    out = Path(out)
    ds = read_labelled(data, convert=convert)
    train, held = split(ds, holdout, seed)
    digest = dataset_digest(train)
    prof = get_profile("cpu")
    if phase2_epochs is None:
        phase2_epochs = max(1, round(epochs * prof.instance.epochs / prof.llc.epochs))
    size = {} if batch_size is None else {"batch_size": batch_size}
    if batch_size and prof.instance.micro_batch and prof.instance.micro_batch > batch_size:
        size["micro_batch"] = None
    sel = DataSel(dataset=f"own-{digest[:12]}", seed=seed)
    p1 = Spec(
        prof.llc.replace(seed=seed, bits=bits, nested=(), epochs=epochs, aux_weight=prof.aux_weight, **size),
        Arch(prof.backbone, width, prof.scaled_head),
        sel,
        label=f"llc-k{bits}",
    )
    cfg2 = prof.instance.replace(seed=seed, bits=bits, epochs=phase2_epochs, bce_scale=1.0, **size)
    p2 = Spec(cfg2, p1.arch, sel, "phase1", p1, CodebookSpec("learnt", bits, p1), label=f"instance-k{bits}")
    ws = Workspace(out / "runs", pick_device(device), progress=True)
    ws.store.preload((sel, "train"), train)
    llc, inst = ws.fit(p1), ws.fit(p2)
    row = evaluate_llc(llc, inst, held, ws.device, (bits,))[bits]
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ws.ckpt_path(p2), out / "model.pt")
    shutil.copyfile(ws.ckpt_path(p1), out / "phase1.pt")
    card = {
        "classes": list(ds.class_names),
        "bits": bits,
        "images": {"train": len(train), "held_out": len(held)},
        "data_sha256": {"train": digest, "held_out": dataset_digest(held)},
        "held_out": {
            "class_code_acc": row["class_code_acc"],
            "mhd_acc": row["mhd_acc"],
            "ed_acc": row["ed_acc"],
            "ed_no_match_rate": row["ed_no_match_rate"],
            "bits_right": row["bits_right"],
            "unique_class_codes": row["unique_codes"],
        },
        "recipe": {"phase1": dataclasses.asdict(p1.cfg), "phase2": dataclasses.asdict(p2.cfg), "width": width},
        "checkpoints": {"model.pt": p2.name, "phase1.pt": p1.name},
    }
    write_json(card, out / MODEL_CARD)
    return card

"""Datasets: CIFAR-100 and the OOD sets (shipped npz; ``sources`` links or builds the data folder),
ImageFolder, and batching.

In-memory datasets (``ArrayDataset``) are kept as uint8 NHWC tensors; ``batches`` does augmentation
(random crop with 4-pixel zero padding, horizontal flip) and normalisation as batched tensor ops on the
training device. ImageFolder datasets (ImageNet, Tiny ImageNet) go through a torch DataLoader with
workers, pinned memory and persistent workers and the standard torchvision transforms. ``TrainBatches``
serves both to the training loop, one shard per process under DistributedDataParallel.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ..config.folders import data_dir  # the default data folder, used here and imported from here
from ..core.errors import UserError
from ..core.files import file_digest, hash_array

CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)

# Checksums of the files in ../shared/datasets (see its README).
SHA256 = {
    "cifar100.npz": "501346ba100d7c31ac08bba8b82e25b37530f35dd11237e647541bb5e314fb81",
    "cifar10_test.npz": "f5cc60f406b79d55db8659766bb81f096856e4da2663d0cfe4b0148fa2e94419",
    "tinyimagenet_test32.npz": "ed3113ccae484c3be0fc69cfd574bc3dc1ac4ea9cbf1c414d726f7d1415daf9a",
}
OOD_FILES = {"cifar10": "cifar10_test.npz", "tinyimagenet": "tinyimagenet_test32.npz"}


class DataError(UserError):
    """A dataset file is missing or malformed; the message says which file and what to do."""


@dataclass(frozen=True)
class ArrayDataset:
    """Images in memory. images: uint8 (N, 32, 32, 3) NHWC; labels: int64 (N,), -1 for unlabelled."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...] = ()
    coarse_labels: torch.Tensor | None = None
    coarse_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.class_names else int(self.labels.max()) + 1

    def take(self, idx) -> "ArrayDataset":
        """The rows ``idx`` (any index tensor/array) as a new dataset."""
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        coarse = None if self.coarse_labels is None else self.coarse_labels[idx]
        return replace(self, images=self.images[idx], labels=self.labels[idx], coarse_labels=coarse)


def sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    return file_digest(path, "sha256")


def _open_npz(path: Path, hint: str) -> dict:
    if path.is_symlink() and not path.exists():
        raise DataError(
            f"{path} is a link to {os.readlink(path)}, which does not exist. Run `make data` "
            f"(it replaces dangling links) or point LLC_DATA_DIR at the files."
        )
    if not path.exists():
        raise DataError(f"{path} is missing. {hint}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # zipfile.BadZipFile, ValueError, EOFError, ...
        raise DataError(
            f"{path} could not be read ({type(e).__name__}: {e}); it is probably truncated or "
            f"corrupt. Delete it and run `make data` again. {hint}"
        ) from e


def _check_images(path: Path, images: np.ndarray, n: int | None = None) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise DataError(
            f"{path}: 'images' must be uint8 of shape (N, 32, 32, 3), got {images.dtype} "
            f"{images.shape}. Re-create the file (`make data`)."
        )
    if n is not None and len(images) != n:
        raise DataError(f"{path}: expected {n} images, got {len(images)}. Re-create the file (`make data`).")


_CIFAR_HINT = (
    "Run `make data` (links ../shared/datasets into data/, else builds the files from the official "
    "archives), or set LLC_DATA_DIR to a folder holding cifar100.npz."
)


def load_cifar100_arrays(root: Path | None = None) -> dict:
    """The validated arrays of ``cifar100.npz`` (keys as in ../shared/datasets/README.md)."""
    path = Path(root or data_dir()) / "cifar100.npz"
    z = _open_npz(path, _CIFAR_HINT)
    missing = {"images", "labels", "coarse_labels", "label_names", "coarse_names", "split"} - set(z)
    if missing:
        raise DataError(f"{path} lacks keys {sorted(missing)}. Re-create it (`make data`).")
    n = len(z["images"])
    _check_images(path, z["images"])
    for key, hi in (("labels", 100), ("coarse_labels", 20), ("split", 2)):
        a = z[key]
        if a.shape != (n,):
            raise DataError(f"{path}: '{key}' must have shape ({n},), got {a.shape}.")
        if a.min() < 0 or a.max() >= hi:
            raise DataError(f"{path}: '{key}' values must lie in 0..{hi - 1}, got {a.min()}..{a.max()}.")
    if len(z["label_names"]) != 100 or len(z["coarse_names"]) != 20:
        raise DataError(f"{path}: expected 100 fine and 20 coarse class names.")
    return z


def dataset_digest(ds) -> str:
    """SHA-256 (hex) of what a model sees of a dataset: for in-memory data the image bytes, the labels and
    the coarse labels; for an ImageFolder (or a Subset of one) each sample's path relative to its root and
    its label, in order (the image files themselves are not read)."""
    h = hashlib.sha256()
    if isinstance(ds, ArrayDataset):
        for t in (ds.images, ds.labels, ds.coarse_labels):
            if t is not None:
                hash_array(h, t.contiguous().numpy())
        return h.hexdigest()
    base, idx = (ds.dataset, ds.indices) if hasattr(ds, "indices") else (ds, range(len(ds)))
    root = Path(base.root)
    for i in idx:
        path, label = base.samples[i]
        h.update(f"{Path(path).relative_to(root).as_posix()}|{label}\n".encode())
    return h.hexdigest()


def load_cifar100(split: str = "train", root: Path | None = None) -> ArrayDataset:
    """CIFAR-100 ``split`` ('train' = split 0, 'test' = split 1) with fine and coarse labels."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    z = load_cifar100_arrays(root)
    keep = z["split"] == (0 if split == "train" else 1)
    return ArrayDataset(
        images=torch.from_numpy(np.ascontiguousarray(z["images"][keep])),
        labels=torch.from_numpy(z["labels"][keep].astype(np.int64)),
        class_names=tuple(str(s) for s in z["label_names"]),
        coarse_labels=torch.from_numpy(z["coarse_labels"][keep].astype(np.int64)),
        coarse_names=tuple(str(s) for s in z["coarse_names"]),
    )


def load_ood(name: str, root: Path | None = None) -> ArrayDataset:
    """An out-of-distribution set: 'cifar10' (5,000 CIFAR-10 test images) or 'tinyimagenet' (5,000, 32x32)."""
    if name not in OOD_FILES:
        raise ValueError(f"unknown OOD set {name!r}; choose one of {sorted(OOD_FILES)}")
    path = Path(root or data_dir()) / OOD_FILES[name]
    z = _open_npz(path, "Run `make data` or set LLC_DATA_DIR.")
    _check_images(path, z["images"])
    labels = z["labels"].astype(np.int64) if "labels" in z else np.full(len(z["images"]), -1, np.int64)
    names = tuple(str(s) for s in z.get("label_names", ()))
    return ArrayDataset(torch.from_numpy(np.ascontiguousarray(z["images"])), torch.from_numpy(labels), names)


def class_subset(ds: ArrayDataset, classes: Sequence[int]) -> ArrayDataset:
    """Images of ``classes`` only, relabelled 0..len(classes)-1 in the given order."""
    classes = list(classes)
    remap = torch.full((max(ds.num_classes, max(classes) + 1),), -1, dtype=torch.long)
    remap[torch.as_tensor(classes)] = torch.arange(len(classes))
    idx = torch.nonzero(remap[ds.labels] >= 0).flatten()
    sub = ds.take(idx)
    names = tuple(ds.class_names[c] for c in classes) if ds.class_names else ()
    return replace(sub, labels=remap[sub.labels], class_names=names)


def stratified_indices(labels: torch.Tensor, num_classes: int, per_class: int, seed: int = 0) -> torch.Tensor:
    """Sorted indices of ``per_class`` rows of every class 0..num_classes-1, chosen with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    keep = []
    for c in range(num_classes):
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise ValueError(f"class {c} has {len(idx)} images, fewer than per_class={per_class}")
        keep.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.sort(torch.cat(keep)).values


def stratified_subset(ds: ArrayDataset, per_class: int | None, seed: int = 0) -> ArrayDataset:
    """``per_class`` images of every class, chosen with ``seed`` and kept in dataset order (None = all)."""
    if per_class is None:
        return ds
    return ds.take(stratified_indices(ds.labels, ds.num_classes, per_class, seed))


def normalise(images: torch.Tensor, mean=CIFAR100_MEAN, std=CIFAR100_STD) -> torch.Tensor:
    """uint8 NHWC -> float32 NCHW (channels_last memory), standardised per channel."""
    x = images.permute(0, 3, 1, 2).float().div_(255)
    m = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return ((x - m) / s).contiguous(memory_format=torch.channels_last)


def augment(images: torch.Tensor, g: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and horizontal flip of a uint8 NHWC batch, in one gather."""
    b, h, w, _ = images.shape
    padded = torch.nn.functional.pad(images, (0, 0, pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=g).to(images.device)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=g).to(images.device)
    flip = (torch.rand(b, generator=g) < 0.5).to(images.device)
    rows = oy[:, None] + torch.arange(h, device=images.device)
    cols = torch.arange(w, device=images.device).expand(b, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols) + ox[:, None]
    bi = torch.arange(b, device=images.device)[:, None, None]
    return padded[bi, rows[:, :, None], cols[:, None, :]]


def cutout(images: torch.Tensor, g: torch.Generator, size: int) -> torch.Tensor:
    """Zero one random ``size`` x ``size`` square (its centre anywhere in the image, clipped at the border)
    of every image of a uint8 NHWC batch."""
    b, h, w, _ = images.shape
    cy = torch.randint(0, h, (b,), generator=g).to(images.device)
    cx = torch.randint(0, w, (b,), generator=g).to(images.device)
    ys = torch.arange(h, device=images.device)[None, :]
    xs = torch.arange(w, device=images.device)[None, :]
    in_y = (ys >= (cy - size // 2)[:, None]) & (ys < (cy - size // 2 + size)[:, None])  # (b, h)
    in_x = (xs >= (cx - size // 2)[:, None]) & (xs < (cx - size // 2 + size)[:, None])  # (b, w)
    keep = ~(in_y[:, :, None] & in_x[:, None, :])
    return images * keep[..., None].to(images.dtype)


def shard(order: torch.Tensor, rank: int, world: int, pad: bool) -> torch.Tensor:
    """This rank's share of ``order``: every world-th index from ``rank``. ``pad`` repeats indices from the
    start so that every rank gets the same count (training: all ranks must take the same number of steps);
    without it (evaluation) nothing is counted twice."""
    if world == 1:
        return order
    short = -len(order) % world
    if pad and short:
        order = torch.cat([order, order.repeat(-(-short // len(order)))[:short]])
    return order[rank::world]


def batches(
    ds: ArrayDataset,
    batch_size: int,
    device: torch.device,
    *,
    shuffle: bool = False,
    train_aug: bool = False,
    seed: int = 0,
    rank: int = 0,
    world: int = 1,
    cutout_size: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (x float NCHW normalised, y int64) batches on ``device``; order and augmentation follow ``seed``.
    With ``world`` > 1, only this ``rank``'s shard (padded when shuffling, i.e. training)."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(ds), generator=g) if shuffle else torch.arange(len(ds))
    order = shard(order, rank, world, pad=shuffle)
    in_order = not shuffle and world == 1  # batches are slices: no gathered copy
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        imgs = (ds.images[start : start + batch_size] if in_order else ds.images[idx]).to(device, non_blocking=True)
        if train_aug:
            imgs = augment(imgs, g)
            if cutout_size:
                imgs = cutout(imgs, g, cutout_size)
        yield normalise(imgs), ds.labels[idx].to(device, non_blocking=True)


def labels_of(ds) -> torch.Tensor:
    """(N,) int64 labels of an ArrayDataset, an ImageFolder (``targets``) or a Subset of either."""
    if isinstance(ds, ArrayDataset):
        return ds.labels
    if isinstance(ds, torch.utils.data.Subset):
        return labels_of(ds.dataset)[torch.as_tensor(ds.indices, dtype=torch.long)]
    if hasattr(ds, "targets"):
        return torch.as_tensor(ds.targets, dtype=torch.long)
    raise TypeError(f"cannot read labels of {type(ds).__name__}")


def num_classes_of(ds) -> int:
    """Class count of an ArrayDataset, an ImageFolder or a Subset of either."""
    if isinstance(ds, ArrayDataset):
        return ds.num_classes
    if isinstance(ds, torch.utils.data.Subset):
        return num_classes_of(ds.dataset)
    return len(ds.classes)


class TrainBatches:
    """The training batches of one process, epoch after epoch: ``for x, y in tb.epoch(e)``.

    ``batch_size`` is the global batch; each of ``world`` processes takes batch_size // world images of its
    shard per step, and ``len(tb)`` (steps per epoch) is the same on every rank. ArrayDatasets are batched
    and augmented on ``device`` (order and augmentation of epoch e seeded by (seed, e)); other datasets go
    through one DataLoader (a DistributedSampler seeded by ``seed``, re-shuffled per epoch by set_epoch;
    ``workers`` processes, pinned memory and persistent workers).
    """

    def __init__(
        self,
        ds,
        batch_size: int,
        device: torch.device,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        workers: int = 0,
        cutout: int = 0,
    ):
        self.ds, self.device, self.seed, self.rank, self.world = ds, device, seed, rank, world
        self.cutout = cutout
        self.per_rank = max(1, batch_size // world)
        self.loader = None
        if not isinstance(ds, ArrayDataset):
            from torch.utils.data import DataLoader, DistributedSampler

            self.sampler = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=seed)
            self.loader = DataLoader(
                ds,
                batch_size=self.per_rank,
                sampler=self.sampler,
                num_workers=workers,
                pin_memory=device.type == "cuda",
                persistent_workers=workers > 0,
                drop_last=False,
            )

    def __len__(self) -> int:
        if self.loader is not None:
            return len(self.loader)
        shard_len = -(-len(self.ds) // self.world)  # ceil division: padded shards, the same on every rank
        return -(-shard_len // self.per_rank)

    def epoch(self, e: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.loader is None:
            return batches(
                self.ds,
                self.per_rank,
                self.device,
                shuffle=True,
                train_aug=True,
                seed=self.seed * 100_003 + e,
                rank=self.rank,
                world=self.world,
                cutout_size=self.cutout,
            )
        self.sampler.set_epoch(e)
        return ((x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)) for x, y in self.loader)


def eval_batches(
    ds, batch_size: int, device: torch.device, rank: int = 0, world: int = 1, workers: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Evaluation batches in dataset order (this rank's unpadded shard when ``world`` > 1), on ``device``."""
    if isinstance(ds, ArrayDataset):
        yield from batches(ds, batch_size, device, rank=rank, world=world)
        return
    from torch.utils.data import DataLoader, Subset

    part = ds if world == 1 else Subset(ds, range(rank, len(ds), world))
    for x, y in DataLoader(part, batch_size=batch_size, num_workers=workers, pin_memory=device.type == "cuda"):
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def image_folder(root: Path | str, train: bool, size: int = 224):
    """torchvision ImageFolder with the standard ImageNet transforms (RandomResizedCrop+flip / Resize+CenterCrop)."""
    from torchvision import datasets, transforms

    norm = transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    if train:
        tf = transforms.Compose(
            [transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(), transforms.ToTensor(), norm]
        )
    else:
        tf = transforms.Compose(
            [transforms.Resize(int(size * 256 / 224)), transforms.CenterCrop(size), transforms.ToTensor(), norm]
        )
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; expected an ImageFolder layout root/<class>/<image>.")
    return datasets.ImageFolder(str(root), transform=tf)


IMAGEFOLDER_HINT = {
    "imagenet": "Put ImageNet-1K in ImageFolder layout at {root}/imagenet/train/<wnid>/*.JPEG and "
    "{root}/imagenet/val/<wnid>/*.JPEG (or set LLC_DATA_DIR).",
    "tinyimagenet": "Unpack tiny-imagenet-200.zip into {root}/ (giving {root}/tiny-imagenet-200/train/...), then "
    "run `python -m llc_lib data --tinyimagenet-val` to sort its val images into class folders.",
}


def tinyimagenet_val_folders(root: Path | str | None = None) -> Path:
    """Sort Tiny ImageNet's validation images into ImageFolder class folders, without touching the originals.

    Reads ``<root>/tiny-imagenet-200/val/val_annotations.txt`` (one "file<TAB>wnid<TAB>box..." line per image)
    and creates ``<root>/tiny-imagenet-200/val_by_class/<wnid>/<file>`` as symbolic links to
    ``val/images/<file>``. Links that already exist are kept; returns the val_by_class folder.
    """
    base = Path(root or data_dir()) / "tiny-imagenet-200"
    ann = base / "val" / "val_annotations.txt"
    if not ann.exists():
        raise DataError(f"{ann} is missing. " + IMAGEFOLDER_HINT["tinyimagenet"].format(root=base.parent))
    out = base / "val_by_class"
    for line in ann.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            raise DataError(f"{ann}: malformed line {line!r}; expected 'file<TAB>wnid<TAB>...'")
        src = base / "val" / "images" / parts[0]
        if not src.exists():
            raise DataError(f"{ann} names {parts[0]} but {src} does not exist; re-extract tiny-imagenet-200.zip")
        dst = out / parts[1] / parts[0]
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() and not dst.is_symlink():
            dst.symlink_to(src.resolve())
    return out


def load_image_folders(name: str, size: int, root: Path | str | None = None):
    """(train, val) ImageFolder datasets of 'imagenet' or 'tinyimagenet' under ``root`` (default data_dir())."""
    root = Path(root or data_dir())
    if name == "imagenet":
        tr_dir, va_dir = root / "imagenet" / "train", root / "imagenet" / "val"
    elif name == "tinyimagenet":
        tr_dir, va_dir = root / "tiny-imagenet-200" / "train", root / "tiny-imagenet-200" / "val_by_class"
    else:
        raise ValueError(f"unknown ImageFolder dataset {name!r}; choose imagenet or tinyimagenet")
    for d in (tr_dir, va_dir):
        if not d.is_dir():
            raise DataError(f"{d} is missing. " + IMAGEFOLDER_HINT[name].format(root=root))
    tr, va = image_folder(tr_dir, True, size), image_folder(va_dir, False, size)
    if tr.classes != va.classes:
        raise DataError(
            f"{tr_dir} and {va_dir} hold different class folders ({len(tr.classes)} vs "
            f"{len(va.classes)}); every class needs a folder in both"
        )
    return tr, va


def per_class_subset(ds, per_class: int | None):
    """The first ``per_class`` images of every class of an ImageFolder (a Subset; None = all)."""
    if per_class is None:
        return ds
    labels = labels_of(ds)
    keep = torch.cat([torch.nonzero(labels == c).flatten()[:per_class] for c in range(num_classes_of(ds))])
    return torch.utils.data.Subset(ds, torch.sort(keep).values.tolist())

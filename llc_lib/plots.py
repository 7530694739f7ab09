"""Figures: seaborn-styled matplotlib helpers; ``save`` writes PNG + PDF."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt  # noqa: F401  (re-exported for notebooks)
import numpy as np
import seaborn as sns
from matplotlib.colors import ListedColormap

from .codebook import binarize

BIT_CMAP = ListedColormap(["#2166ac", "#f7f7f7", "#b2182b"])  # -1 blue, +1 red (0 unused)


def style() -> None:
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)


def save(fig, name: str, outdir: Path | str) -> list[Path]:
    """Write ``fig`` as outdir/name.png (150 dpi) and outdir/name.pdf; return both paths.

    PDFs carry no creation date, so re-running a notebook on unchanged results leaves them byte-identical.
    Each file is written under a temporary name and renamed, so a failed save never leaves half a figure.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / f"{name}.png", outdir / f"{name}.pdf"]
    for path, kw in zip(paths, ({"dpi": 150}, {"metadata": {"CreationDate": None}})):
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
        fig.savefig(tmp, bbox_inches="tight", **kw)
        os.replace(tmp, path)
    return paths


def code_heatmap(codes, ax, row_labels=None, title: str = "", label_every: int = 1, cbar: bool = True):
    """Classes x bits heat map of a +-1 codebook (red +1, blue -1)."""
    c = binarize(codes)
    im = ax.imshow(c, cmap=BIT_CMAP, vmin=-1.5, vmax=1.5, aspect="auto", interpolation="nearest")
    ax.set_xlabel("bit")
    ax.set_xticks(range(c.shape[1]))
    ax.set_xticklabels([str(j + 1) if (j + 1) % 5 == 0 or j == 0 else "" for j in range(c.shape[1])])
    if row_labels is not None:
        idx = np.arange(0, len(row_labels), label_every)
        ax.set_yticks(idx)
        ax.set_yticklabels([row_labels[i] for i in idx], fontsize=6)
    else:
        ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title)
    if cbar:
        cb = ax.figure.colorbar(im, ax=ax, ticks=[-1, 1], fraction=0.04, pad=0.02)
        cb.ax.set_yticklabels(["-1", "+1"])
    return im


def distance_heatmap(d: np.ndarray, ax, labels=None, title: str = "", cbar_label: str = "Hamming distance (bits)"):
    """Square class-by-class distance matrix."""
    im = ax.imshow(d, cmap="viridis", interpolation="nearest")
    ax.grid(False)
    if labels is not None:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=90, fontsize=5)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=5)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label=cbar_label)
    return im


def image_grid(images: np.ndarray, ax, ncols: int, pad: int = 2) -> None:
    """Tile uint8 (N, H, W, 3) images into one picture on ``ax`` (row-major, white padding)."""
    n, h, w, _ = images.shape
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = img
    ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")


def framed(images: np.ndarray, correct, width: int = 2) -> np.ndarray:
    """uint8 (N, H, W, 3) images with a coloured frame: green where ``correct``, red elsewhere."""
    out = np.array(images, copy=True)
    colour = np.where(np.asarray(correct, bool)[:, None], [[40, 170, 60]], [[200, 40, 40]]).astype(np.uint8)
    for n, c in enumerate(colour):
        out[n, :width], out[n, -width:], out[n, :, :width], out[n, :, -width:] = c, c, c, c
    return out

"""Figures: seaborn-styled matplotlib helpers; ``save`` writes PNG + PDF."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import seaborn as sns
from matplotlib.colors import BoundaryNorm, ListedColormap, TwoSlopeNorm

from ..kernels.codebooks import binarize

BIT_CMAP = ListedColormap(["#2166ac", "#b2182b"])  # -1 blue, +1 red: two colours, nothing in between
BIT_NORM = BoundaryNorm([-2, 0, 2], BIT_CMAP.N)


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
    im = ax.imshow(c, cmap=BIT_CMAP, norm=BIT_NORM, aspect="auto", interpolation="nearest")
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


def real_heatmap(values, ax, title: str = "", cbar_label: str = "value"):
    """Classes x dimensions heat map of real values (blue negative, red positive, white at 0), symmetric
    colour limits at the largest magnitude; the real-valued counterpart of ``code_heatmap``."""
    v = np.asarray(values, dtype=np.float64)
    m = float(np.abs(v).max()) or 1.0
    im = ax.imshow(v, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -m, m), aspect="auto", interpolation="nearest")
    ax.set_xlabel("dimension")
    ax.set_xticks(range(v.shape[1]))
    ax.set_xticklabels([str(j + 1) if (j + 1) % 5 == 0 or j == 0 else "" for j in range(v.shape[1])])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label=cbar_label)
    return im


def cluster_link_colors(z: np.ndarray, n_clusters: int, above: str = "#555555"):
    """``link_color_func`` for scipy's dendrogram: each of the ``n_clusters`` clusters of linkage ``z`` (cut
    by maxclust) in its own colour (tab20 without its greys, then tab20b), links above the cut in ``above``.
    Returns (func, the cluster id of every leaf (C,), {cluster id: colour})."""
    from matplotlib.colors import to_hex
    from scipy.cluster.hierarchy import fcluster

    n = len(z) + 1
    labels = fcluster(z, n_clusters, criterion="maxclust")
    tab20 = sns.color_palette("tab20", 20)
    colours = [c for i, c in enumerate(tab20) if i not in (14, 15)] + sns.color_palette("tab20b", 20)
    cmap = {c: to_hex(colours[i % len(colours)]) for i, c in enumerate(sorted(set(labels)))}
    members = {i: {labels[i]} for i in range(n)}
    for j, (a, b, _, _) in enumerate(z):
        members[n + j] = members[int(a)] | members[int(b)]

    def func(node: int) -> str:
        m = members[node]
        return cmap[next(iter(m))] if len(m) == 1 else above

    return func, labels, cmap


def bits_axis(ax, bits, min_gap: float = 0.12) -> None:
    """Log-2 x axis for code lengths ``bits`` with tick labels that do not overlap: a length is labelled only
    when it lies at least ``min_gap`` (in log2 units of the axis span) from the last labelled one."""
    bits = sorted(bits)
    ax.set_xscale("log", base=2)
    span = max(np.log2(bits[-1] / bits[0]), 1e-9)
    labelled, last = [], None
    for k in bits:
        if last is None or np.log2(k / last) / span >= min_gap:
            labelled.append(k)
            last = k
    ax.set_xticks(bits)
    ax.set_xticklabels([str(k) if k in labelled else "" for k in bits])
    ax.minorticks_off()


def distance_heatmap(
    d: np.ndarray, ax, labels=None, title: str = "", cbar_label: str = "Hamming distance (bits)", cmap: str = "viridis"
):
    """Square class-by-class distance (or, with a reversed ``cmap``, similarity) matrix."""
    im = ax.imshow(d, cmap=cmap, interpolation="nearest")
    ax.grid(False)
    if labels is not None:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=90, fontsize=5)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=5)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label=cbar_label)
    return im


def group_lines(ax, size: int, n: int, horizontal: bool = True, vertical: bool = True) -> None:
    """Thin black lines between consecutive groups of ``size`` rows / columns of an ``n``-row image (e.g. the 5
    classes of each CIFAR-100 superclass)."""
    for y in range(size, n, size):
        if horizontal:
            ax.axhline(y - 0.5, color="k", lw=0.6)
        if vertical:
            ax.axvline(y - 0.5, color="k", lw=0.6)


def image_grid(images: np.ndarray, ax, ncols: int, pad: int = 2) -> None:
    """Tile uint8 (N, H, W, 3) images into one picture on ``ax`` (row-major, white padding)."""
    n, h, w, _ = images.shape
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img
    ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")


def framed(images: np.ndarray, correct, width: int = 2) -> np.ndarray:
    """uint8 (N, H, W, 3) images with a coloured frame: green where ``correct``, red elsewhere."""
    out = np.array(images, copy=True)
    colour = np.where(np.asarray(correct, bool)[:, None], [[40, 170, 60]], [[200, 40, 40]]).astype(np.uint8)
    for n, c in enumerate(colour):
        out[n, :width], out[n, -width:], out[n, :, :width], out[n, :, -width:] = c, c, c, c
    return out

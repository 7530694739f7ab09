"""What the codes look like (notebook 03): the LLC, SVD and Random codebooks at k bits, row orders for the
heat maps, the class-by-class Hamming distances within and across superclasses, and how closely each
codebook's class similarities follow those of the real-valued classifier (the paper's comparison)."""

from __future__ import annotations

import numpy as np

from ..graph import plan
from ..kernels import taxonomy
from ..kernels.codebooks import num_unique_codes
from . import Context, check_length, fits
from .evaluation import codebooks


def code_similarity(codes: np.ndarray) -> np.ndarray:
    """(C, C) similarity of +-1 class codes (C, k): the fraction of agreeing bits minus the fraction of differing
    ones, 1 - 2 * Hamming / k, in [-1, 1] (1 on the diagonal)."""
    c = np.asarray(codes, dtype=np.float64)
    return c @ c.T / c.shape[1]


def cosine_similarity(w: np.ndarray) -> np.ndarray:
    """(C, C) cosine similarity of the rows of ``w`` (C, d), e.g. a classifier's class weight vectors. Products
    and numpy's own sums, no BLAS: BLAS kernels sum in another order on each machine, so the last digit would
    depend on the host."""
    w = np.asarray(w, dtype=np.float64)
    w = w / np.maximum(np.sqrt((w * w).sum(1, keepdims=True)), 1e-12)
    return (w[:, None, :] * w[None, :, :]).sum(-1)


def similarity_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the off-diagonal entries of two (C, C) similarity matrices (1 = the same class
    pairs are similar in both; 0 = unrelated); computed without BLAS, as ``cosine_similarity``."""
    off = ~np.eye(len(a), dtype=bool)
    x, y = np.asarray(a, np.float64)[off], np.asarray(b, np.float64)[off]
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


@fits(lambda p, seed: list(plan.headline(p, seed))[:2])
def code_study(ctx: Context, seed: int, bits: int) -> dict:
    """Codebooks, heat-map row orders (LLC taxonomy leaf order; superclass order), Hamming statistics and the
    agreement of each codebook's class similarities with the real-valued classifier's.

    Returns JSON-ready numbers ('similarity_to_real': {codebook: ``similarity_agreement`` of its
    ``code_similarity`` with the ``cosine_similarity`` of the real-valued classifier's weights}) plus '_books'
    (the codebooks), '_tax_order', '_sup_order', '_sup' (superclass of each class), '_reals' (C, bits) the LLC
    codebook's real values before the sign, '_distances' (C, C) of the LLC codes and '_real_similarity' (C, C)
    of the real-valued classifier, both in superclass order."""
    bits = check_length(bits, ctx.profile.max_bits)
    tr = ctx.train(seed)
    books = codebooks(ctx, seed, bits)
    real_s, llc_s, _ = plan.headline(ctx.profile, seed)
    reals = ctx.fit(llc_s).head.codebook.detach().cpu().numpy()[:, :bits]
    real_sim = cosine_similarity(ctx.fit(real_s).head.fc.weight.detach().cpu().numpy())
    sup = taxonomy.superclass_of_class(tr.labels.numpy(), tr.coarse_labels.numpy(), tr.num_classes)
    sup_order = np.lexsort((np.arange(len(sup)), sup))
    full = taxonomy.hamming_matrix(books["LLC"])
    same, off = sup[:, None] == sup[None, :], ~np.eye(len(sup), dtype=bool)
    block = np.ix_(sup_order, sup_order)
    return {
        "bits": bits,
        "mean_distance_same_superclass": float(full[same & off].mean()),
        "mean_distance_other_superclass": float(full[~same].mean()),
        "unique_codes": {n: num_unique_codes(c) for n, c in books.items()},
        "similarity_to_real": {n: similarity_agreement(code_similarity(c), real_sim) for n, c in books.items()},
        "_books": books,
        "_tax_order": taxonomy.leaf_order(taxonomy.linkage(books["LLC"])),
        "_sup_order": sup_order,
        "_sup": sup,
        "_reals": reals,
        "_distances": full[block],
        "_real_similarity": real_sim[block],
    }

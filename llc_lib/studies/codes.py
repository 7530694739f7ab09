"""What the codes look like (notebook 03): the LLC, SVD and Random codebooks at k bits, row orders for the
heat maps, and the class-by-class Hamming distances within and across superclasses."""
from __future__ import annotations

import numpy as np

from .. import plan
from .. import taxonomy
from ..codebook import num_unique_codes
from ..evaluation import codebooks
from . import Context, check_length, fits


@fits(lambda p, seed: list(plan.headline(p, seed))[:2])
def code_study(ctx: Context, seed: int, bits: int) -> dict:
    """Codebooks, heat-map row orders (LLC taxonomy leaf order; superclass order) and Hamming statistics.

    Returns JSON-ready numbers plus '_books' (the codebooks), '_tax_order', '_sup_order', '_sup' (superclass
    of each class), '_reals' (C, bits) the LLC codebook's real values before the sign, and '_distances'
    (C, C) of the LLC codes in superclass order."""
    bits = check_length(bits, ctx.profile.max_bits)
    tr = ctx.train(seed)
    books = codebooks(ctx, seed, bits)
    reals = ctx.fit(plan.headline(ctx.profile, seed)[1]).head.codebook.detach().cpu().numpy()[:, :bits]
    sup = taxonomy.superclass_of_class(tr.labels.numpy(), tr.coarse_labels.numpy(), tr.num_classes)
    sup_order = np.lexsort((np.arange(len(sup)), sup))
    full = taxonomy.hamming_matrix(books["LLC"])
    same, off = sup[:, None] == sup[None, :], ~np.eye(len(sup), dtype=bool)
    return {"bits": bits, "mean_distance_same_superclass": float(full[same & off].mean()),
            "mean_distance_other_superclass": float(full[~same].mean()),
            "unique_codes": {n: num_unique_codes(c) for n, c in books.items()},
            "_books": books, "_tax_order": taxonomy.leaf_order(taxonomy.linkage(books["LLC"])), "_sup_order": sup_order,
            "_sup": sup, "_reals": reals, "_distances": full[np.ix_(sup_order, sup_order)]}

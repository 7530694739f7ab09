"""Taxonomy discovery (notebook 04): cluster the class codes and compare with CIFAR-100's superclasses."""

from __future__ import annotations

from ..graph import plan
from ..kernels import taxonomy
from ..results import claims
from . import Context, check_int, check_length, fits
from .evaluation import codebooks


@fits(lambda p, seed: list(plan.headline(p, seed))[:2])
def taxonomy_study(ctx: Context, seed: int, bits: int, n_clusters: int = 20) -> dict:
    """ARI / purity against the superclasses for LLC, SVD and Random codes (Hamming, average linkage) and the
    real-valued classifier weights (cosine), each with its number of merges at tied heights and the ARI's
    spread over random class orders (``taxonomy.tie_sensitivity``); the named LLC clusters; the verdict (on the
    ARIs averaged over class orders, so that the clustering routine's tie rule does not decide it) and its
    threshold.
    '_linkage' holds the LLC codes' linkage matrix for the dendrogram."""
    bits = check_length(bits, ctx.profile.max_bits)
    tr = ctx.train(seed)
    n_clusters = check_int("n_clusters", n_clusters, 2, tr.num_classes)
    sup = taxonomy.superclass_of_class(tr.labels.numpy(), tr.coarse_labels.numpy(), tr.num_classes)
    books = codebooks(ctx, seed, bits)
    real = ctx.fit(plan.real(ctx.profile, seed))
    vecs = {
        "LLC": (books["LLC"], "hamming"),
        "SVD": (books["SVD"], "hamming"),
        "Random": (books["Random"], "hamming"),
        "real-valued weights": (real.head.fc.weight.detach().cpu().numpy(), "cosine"),
    }
    out = {"bits": bits, "n_clusters": n_clusters, "methods": {}}
    for name, (v, metric) in vecs.items():
        r = taxonomy.compare_with_superclasses(v, sup, n_clusters, metric)
        out["methods"][name] = {
            "ari": r["ari"],
            "purity": r["purity"],
            "metric": metric,
            "clusters": r["clusters"].tolist(),
            "tied_merges": taxonomy.tied_merges(taxonomy.linkage(v, metric)),
            "class_order": taxonomy.tie_sensitivity(v, sup, n_clusters, metric, seed=seed),
        }
    out["superclass_of_class"] = sup.tolist()
    out["named_clusters"] = taxonomy.name_clusters(
        out["methods"]["LLC"]["clusters"], tr.class_names, tr.coarse_names, sup
    )[:8]
    llc_r, rnd, svd = out["methods"]["LLC"], out["methods"]["Random"], out["methods"]["SVD"]

    def mean(r):  # the ARI averaged over class orders: tied merge heights are broken differently in each
        return r["class_order"]["ari_mean"]

    out["summary"] = (
        f"ARI {mean(llc_r):.2f} ± {llc_r['class_order']['ari_sd']:.2f} vs SVD {mean(svd):.2f} ± "
        f"{svd['class_order']['ari_sd']:.2f} and Random {mean(rnd):.2f} (mean ± sd over "
        f"{llc_r['class_order']['draws']} class orders; in the dataset's order {llc_r['ari']:.2f} vs "
        f"{svd['ari']:.2f} and {rnd['ari']:.2f}) at {bits} bits (seed {seed})"
    )
    out["holds"] = claims.taxonomy_recovered(mean(llc_r), [mean(rnd), mean(svd)])
    out["threshold_ari_over_baselines"] = claims.THRESHOLDS["taxonomy_ari_over_baselines"]
    out["paper"] = claims.PAPER["statements"]["taxonomy"]
    out["_linkage"] = taxonomy.linkage(books["LLC"])
    return out

"""Claims of the taxonomy study (``studies.taxonomy.taxonomy_study``, notebook 04): clustering LLC's class codes
recovers the superclasses better than the baseline codebooks do."""

from __future__ import annotations

from typing import Final

from .common import Judged, Row, SeedStudy, Verdict, combine, judged_row, mean_std, seed_verdict

RESULTS: Final = "04_taxonomy"  # notebook 04's results file

THRESHOLDS = {
    "taxonomy_ari_over_baselines": 0.05,  # LLC clusters beat the Random and SVD codes' ARI by at least this much
}

BASELINES: Final = ("svd", "random")  # the codebooks LLC's clusters are compared with


class TaxonomyResults(Judged, total=False):
    bits: int
    n_clusters: int
    superclass_of_class: list[int]  # per class


def taxonomy_recovered(llc_ari: float, baseline_aris: list[float]) -> bool:
    """Clustering LLC's class codes recovers the superclasses better than every baseline codebook (ARI)."""
    return llc_ari > max(baseline_aris) + THRESHOLDS["taxonomy_ari_over_baselines"]


def taxonomy_seed_verdict(seeds: SeedStudy | None, k: int) -> Verdict:
    """``taxonomy_recovered`` over the seeds of a ``seeds.json``: LLC's ARI ('taxonomy_ari_llc@k') beats SVD's
    and Random's by ``THRESHOLDS['taxonomy_ari_over_baselines']``, each by ``seed_verdict``."""
    m = THRESHOLDS["taxonomy_ari_over_baselines"]
    return combine(seed_verdict(seeds, f"taxonomy_ari_llc@{k}", f"taxonomy_ari_{b}@{k}", m) for b in BASELINES)


def rows(tax: TaxonomyResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The taxonomy claim with the study's verdict; judged over ``seeds`` where the seed study has the ARIs and
    cut the codes as this result did (into as many clusters as there are superclasses, at its k)."""
    out = judged_row("clustering class codes recovers semantic groups", tax)
    if out and seeds and tax.get("n_clusters") == len(set(tax.get("superclass_of_class", []))):
        k = tax["bits"]
        ari = {b: seeds["numbers"].get(f"taxonomy_ari_{b}@{k}") for b in ("llc", *BASELINES)}
        if all(ari.values()):
            out[0]["seeds"] = taxonomy_seed_verdict(seeds, k)
            out[0]["ours"] += (
                "; over the seeds (class-order means) LLC "
                + ", SVD ".join(mean_std(ari[b], 1.0) for b in ("llc", "svd"))
                + f", Random {mean_std(ari['random'], 1.0)}"
            )
    return out

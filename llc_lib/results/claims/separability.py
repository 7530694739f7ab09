"""Claims of the separability study (``studies.separability``, notebook 05): Hamming separability close to
linear separability, and single bits not interpretable (``bit_interpretability``, its own results file)."""

from __future__ import annotations

from typing import Final, TypedDict

from .common import Judged, Row, SeedStudy, judged_row

RESULTS: Final = "05_linear_vs_hamming"  # notebook 05's results file
INTERPRETABILITY_RESULTS: Final = "05_linear_vs_hamming_interpretability"  # notebook 05's, of single bits

THRESHOLDS = {
    "interpretability_alpha": 0.05,  # bits are "interpretable" when they align with superclasses beyond chance
}


class SeparabilityResults(TypedDict):
    """What the separability claim reads (the study records no verdict of its own)."""

    summary: str
    paper: str


def bits_not_interpretable(p_value: float) -> bool:
    """The paper's claim "a single bit mixes unrelated classes": the superclass spans of LLC's bits are not
    smaller than those of random bits of the same balance (permutation test, ``p_value`` = the chance that
    random bits are as aligned)."""
    return p_value >= THRESHOLDS["interpretability_alpha"]


def rows(sep: SeparabilityResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The separability claim, with the study's summary: descriptive, no verdict (the paper states no margin for
    "close", and the study fixes none)."""
    return judged_row("Hamming separability close to linear separability (descriptive: no rule judges it)", sep)


def interpretability_rows(bits: Judged | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The interpretability claim with the study's verdict (``bits_not_interpretable``)."""
    return judged_row("single bits are not interpretable", bits)

"""Claims of the separability study (``studies.separability``, notebook 05): Hamming separability close to
linear separability, and single bits not interpretable (``bit_interpretability``, its own results file)."""

from __future__ import annotations

from typing import Final, TypedDict

from .common import Judged, Row, SeedStudy, judged_row

RESULTS: Final = "05_linear_vs_hamming"  # notebook 05's results file
INTERPRETABILITY_RESULTS: Final = "05_linear_vs_hamming_interpretability"  # notebook 05's, of single bits

THRESHOLDS = {
    # a bit is interpretable when it keeps at least this fraction of the superclasses whole (every class of the
    # superclass on one side of the bit); a random balanced bit keeps 2 / 2^5 = 6 % of 5-class superclasses whole
    "interpretable_bit_whole_fraction": 0.5,
    "interpretability_alpha": 0.05,  # descriptive: bits "more aligned than chance" below this permutation p-value
}


class SeparabilityResults(TypedDict):
    """What the separability claim reads (the study records no verdict of its own)."""

    summary: str
    paper: str


def bits_not_interpretable(kept_whole: list[int], superclasses: int) -> bool:
    """The paper's statement, "a single bit mixes unrelated classes", as the hypothesis tested: no bit is
    interpretable, a bit being interpretable when it keeps at least ``interpretable_bit_whole_fraction`` of the
    ``superclasses`` whole (``kept_whole``: per bit, how many superclasses have all their classes on one side of
    it). A bit that follows the taxonomy fails it; bits that split most superclasses, as random ones do, pass,
    however much more aligned than random bits they are (``superclass_span_test`` measures that)."""
    return all(n < THRESHOLDS["interpretable_bit_whole_fraction"] * superclasses for n in kept_whole)


def rows(sep: SeparabilityResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The separability claim, with the study's summary: descriptive, no verdict (the paper states no margin for
    "close", and the study fixes none)."""
    return judged_row("Hamming separability close to linear separability (descriptive: no rule judges it)", sep)


def interpretability_rows(bits: Judged | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The interpretability claim with the study's verdict (``bits_not_interpretable``)."""
    share = THRESHOLDS["interpretable_bit_whole_fraction"]
    if bits and "summary" in bits and "kept_whole" not in bits:  # judged by another rule: run notebook 05 again
        bits = {**bits, "holds": None, "summary": bits["summary"] + "; judged by an older rule: run notebook 05 again"}
    return judged_row(
        f"single bits are not interpretable (the paper's statement as the hypothesis: no bit keeps {share:.0%} or "
        "more of the superclasses whole)",
        bits,
    )

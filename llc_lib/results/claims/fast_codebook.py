"""Claims of the fast-codebook study (``studies.accuracy.fast_codebook``, run by notebook 05 into its results
file): a codebook learnt with less data and a smaller network loses little accuracy."""

from __future__ import annotations

from typing import Final, TypedDict

from . import separability
from .common import PAPER, Row, SeedStudy, Verdict

RESULTS: Final = separability.RESULTS  # notebook 05 keeps this study's result in its file (``Notebook05``)

THRESHOLDS = {
    "fast_codebook_points": 2.0,  # a cheaply learnt codebook's MHD within this many points of the main codebook's
}


class FastCodebook(TypedDict, total=False):
    bits: int
    codebook_images: int
    codebook_width: int
    epochs: int
    threshold_points: float
    mhd_acc: float
    ed_acc: float
    main_mhd_acc: float  # the main run's codebook on the same path, at the same length
    main_ed_acc: float
    holds: Verdict


class Notebook05(TypedDict, total=False):
    fast_codebook: FastCodebook


def fast_codebook_close(fast_mhd_points: float, main_mhd_points: float) -> bool:
    """The cheaply learnt codebook's MHD (%) is at most ``fast_codebook_points`` below the main codebook's, both
    trained by the same Phase 2."""
    return fast_mhd_points >= main_mhd_points - THRESHOLDS["fast_codebook_points"]


def rows(results: Notebook05 | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The fast-codebook claim with the study's verdict (one seed); none where the study recorded none."""
    fast = (results or {}).get("fast_codebook")
    if not fast or "holds" not in fast:
        return []
    return [
        Row(
            claim=f"faster codebook learning: a {fast['bits']}-bit codebook learnt from "
            f"{fast['codebook_images']} images with a width-{fast['codebook_width']} network is within "
            f"{fast['threshold_points']} MHD points of the main codebook (same Phase 2, "
            f"{fast['epochs']} epochs)",
            paper=PAPER["statements"]["fast_codebook"],
            ours=f"MHD {100 * fast['mhd_acc']:.1f} vs {100 * fast['main_mhd_acc']:.1f}, ED "
            f"{100 * fast['ed_acc']:.1f} vs {100 * fast['main_ed_acc']:.1f} (one seed)",
            holds=fast["holds"],
        )
    ]

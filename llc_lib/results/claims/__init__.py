"""The paper's claims we test, one module per study: each holds its study's thresholds, its verdicts, the layout
of the results file it reads (typed: ``TypedDict`` classes and ``Final`` names) and the functions that turn that
file into the report's rows (``Row``) and tables. ``common`` holds what they share: the paper's numbers
(``PAPER``, quoted from the paper and its talk slides in ../shared/paper, never ours), the noise rule over seeds
and its verdicts, and the name of LLC's codebook after the baselines' Phase 2 (``SAME_PATH_LLC``); ``seed_files``
assembles a seed study from per-seed results files of several studies.

The study functions call the verdicts from here and record the thresholds next to them; ``report`` assembles the
modules' rows. A verdict is True, False, "within noise" (over seeds, see ``seed_verdict``) or None (numbers
missing). ``THRESHOLDS`` holds every module's thresholds under their names.
"""

from __future__ import annotations

from . import (
    accuracy,
    common,
    fast_codebook,
    headline,
    ood,
    recipe_choice,
    retrieval,
    seed_files,
    separability,
    taxonomy,
)
from .accuracy import (
    all_codes_unique,
    codebook_ranking,
    codebook_seed_verdicts,
    llc_beats_baselines,
    near_real,
    nested_is_free,
    nested_seed_verdict,
    nesting_cost,
    warm_start_helps,
)
from .common import (
    NOISE_RULE,
    PAPER,
    SAME_PATH_LLC,
    Row,
    Verdict,
    combine,
    same_path_key,
    seed_verdict,
    usable_seed_numbers,
)
from .fast_codebook import fast_codebook_close
from .headline import goal_reached
from .ood import ood_zero_sample_matches
from .retrieval import about_as_good_as_real, beats
from .separability import bits_not_interpretable
from .taxonomy import taxonomy_recovered, taxonomy_seed_verdict

# every module's thresholds, in the order results.json records them
THRESHOLDS = {
    **accuracy.THRESHOLDS,
    **taxonomy.THRESHOLDS,
    **separability.THRESHOLDS,
    **common.THRESHOLDS,
    **ood.THRESHOLDS,
    **retrieval.THRESHOLDS,
    **fast_codebook.THRESHOLDS,
    **headline.THRESHOLDS,
    **recipe_choice.THRESHOLDS,
}

__all__ = [
    "NOISE_RULE",
    "PAPER",
    "SAME_PATH_LLC",
    "THRESHOLDS",
    "Row",
    "Verdict",
    "about_as_good_as_real",
    "accuracy",
    "all_codes_unique",
    "beats",
    "bits_not_interpretable",
    "codebook_ranking",
    "codebook_seed_verdicts",
    "combine",
    "common",
    "fast_codebook",
    "fast_codebook_close",
    "goal_reached",
    "headline",
    "llc_beats_baselines",
    "near_real",
    "nested_is_free",
    "nested_seed_verdict",
    "nesting_cost",
    "ood",
    "ood_zero_sample_matches",
    "recipe_choice",
    "retrieval",
    "same_path_key",
    "seed_files",
    "seed_verdict",
    "separability",
    "taxonomy",
    "taxonomy_recovered",
    "taxonomy_seed_verdict",
    "usable_seed_numbers",
    "warm_start_helps",
]

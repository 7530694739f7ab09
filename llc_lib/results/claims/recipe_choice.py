"""Claims of the recipe choice (``studies.instance.run_variant`` with a validation split): Phase 2's length is
chosen on held-out training images, never on the test split that judges the goals, and the headline uses the
length chosen there.

The results file is the ``variants`` command's, run on the profile with images held out:

    python -m llc_lib variants --profile cpu --set holdout=50 --variants profile p2-half \\
        --out figures/recipe_choice.json
"""

from __future__ import annotations

import math
from typing import Final, TypedDict

from .common import Row, SeedStudy

RESULTS: Final = "recipe_choice"  # figures/recipe_choice.json (the variants command's results file)

LONGER: Final = "profile"  # the profile's own Phase 2
SHORTER: Final = "p2-half"  # the same with half its epochs

THRESHOLDS = {
    "choice_bits": 14,  # the code length whose P(exact | right) goal decided Phase 2's length
    "choice_standard_errors": 2.0,  # the longer Phase 2 must be better by more than this many standard errors
}

CHOICE_RULE = (
    f"The longer Phase 2 is kept when its P(exact | Phase 2 right) at {THRESHOLDS['choice_bits']} bits on the "
    f"validation split exceeds the shorter one's by more than {THRESHOLDS['choice_standard_errors']:g} standard "
    "errors of the difference of two proportions (each sqrt(p (1 - p) / n), n the validation images Phase 2 decides "
    "right); otherwise the shorter one, at half the cost, is chosen."
)


class VariantRow(TypedDict, total=False):
    """What the choice reads of one row of the variants file."""

    validation: dict[str, dict]  # k: evaluate_llc's row on the held-out training images
    images: dict[str, int]  # split: how many images it was scored on
    recipe: dict[str, dict]  # 'llc', 'instance': the TrainConfigs it trained


# the variants file, by variant name: both variants the choice is between
RecipeChoiceResults = TypedDict("RecipeChoiceResults", {LONGER: VariantRow, SHORTER: VariantRow}, total=False)


def _p_and_n(row: VariantRow) -> tuple[float, float]:
    """(P(exact | Phase 2 right) at ``choice_bits``, the number of validation images it is over); ValueError
    for a row without them (a variants file of an older evaluation) or over no image."""
    try:
        r = row["validation"][str(THRESHOLDS["choice_bits"])]
        p, n = r["p_exact_given_phase2_class_right"], r["phase2_class_acc"] * row["images"]["validation"]
    except KeyError as e:
        raise ValueError(f"a variant row lacks {e} (an older evaluation): run the variants command again") from e
    if not n > 0:
        raise ValueError("a variant decides no validation image right: P(exact | right) is undefined")
    return p, n


def choose_phase2_length(longer: VariantRow, shorter: VariantRow) -> dict:
    """The choice of ``CHOICE_RULE`` between two variants scored on a validation split. Returns {'chosen':
    LONGER or SHORTER, 'epochs': {name: Phase 2 epochs}, 'p_exact': {name: P(exact | Phase 2 right) at
    ``choice_bits``}, 'difference': longer minus shorter, 'needed': the margin it had to exceed}."""
    (p_l, n_l), (p_s, n_s) = _p_and_n(longer), _p_and_n(shorter)
    se = math.sqrt(p_l * (1 - p_l) / n_l + p_s * (1 - p_s) / n_s)
    needed = THRESHOLDS["choice_standard_errors"] * se
    return {
        "chosen": LONGER if p_l - p_s > needed else SHORTER,
        "epochs": {LONGER: longer["recipe"]["instance"]["epochs"], SHORTER: shorter["recipe"]["instance"]["epochs"]},
        "p_exact": {LONGER: p_l, SHORTER: p_s},
        "difference": p_l - p_s,
        "needed": needed,
    }


def rows(results: RecipeChoiceResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The row "Phase 2's length chosen on the validation split", when the variants file holds both variants
    scored on a validation split: holds when the profile's Phase 2 (the headline's) has the chosen length. The
    verdict is None, and the row says why, when the file's longer variant is not the profile's Phase 2 of today
    (another learning rate or length: the choice was made for another recipe) or there is no profile."""
    if not results or LONGER not in results or SHORTER not in results:
        return []
    if "validation" not in results[LONGER] or "validation" not in results[SHORTER]:
        return []
    claim = (
        f"recipe: Phase 2's length is the one chosen on the validation split (the longer only when "
        f"better by more than {THRESHOLDS['choice_standard_errors']:g} standard errors)"
    )
    paper = "official Phase 2: 25 epochs of ImageNet (about 125k steps)"
    try:
        c = choose_phase2_length(results[LONGER], results[SHORTER])
    except ValueError as e:
        return [Row(claim=claim, paper=paper, ours=f"n/a: {e}", holds=None)]
    k, chosen = THRESHOLDS["choice_bits"], c["epochs"][c["chosen"]]
    ran = results[LONGER]["recipe"]["instance"]
    used = profile.instance.epochs if profile is not None else None
    ours = (
        f"P(exact | Phase 2 right) at {k} bits on the validation split: {c['p_exact'][LONGER]:.3f} after "
        f"{c['epochs'][LONGER]} epochs, {c['p_exact'][SHORTER]:.3f} after {c['epochs'][SHORTER]} "
        f"(difference {c['difference']:+.3f}, needed > {c['needed']:.3f}): chosen {chosen} epochs; the headline "
        f"uses {used if used is not None else 'n/a'} (one seed)"
    )
    holds = None if used is None else used == chosen
    # the choice was made for today's recipe when its learning rate is today's and today's length is one of the
    # two it chose between (the profile may have adopted either)
    if profile is not None and (
        ran["lr"] != profile.instance.lr or profile.instance.epochs not in c["epochs"].values()
    ):
        holds = None
        ours += (
            f"; but {RESULTS}.json chose between {sorted(c['epochs'].values())} epochs at lr {ran['lr']}, not for "
            f"today's {profile.instance.epochs} at lr {profile.instance.lr}: run the variants command again"
        )
    return [Row(claim=claim, paper=paper, ours=ours, holds=holds)]

"""The rule that chooses Phase 2's length on the validation split (claims.recipe_choice): which variant it
chooses, and the report row that says whether the headline uses that length."""

import dataclasses

import pytest

from llc_lib.config.profiles import get_profile
from llc_lib.results.claims import recipe_choice as rc


def _row(p_exact: float, right: float, epochs: int, lr: float, images: int = 5000) -> dict:
    return {
        "validation": {"14": {"p_exact_given_phase2_class_right": p_exact, "phase2_class_acc": right}},
        "images": {"validation": images, "train": 5000},
        "recipe": {"instance": {"epochs": epochs, "lr": lr}},
    }


def _file(p_long: float, p_short: float, epochs: int = 30, lr: float = 0.2) -> dict:
    return {rc.LONGER: _row(p_long, 0.5, epochs, lr), rc.SHORTER: _row(p_short, 0.5, epochs // 2, lr)}


def test_the_longer_phase2_needs_more_than_two_standard_errors():
    # n = 2500 right images each: se of the difference at p = 0.8 is sqrt(2 * 0.16 / 2500) = 0.0113
    assert rc.choose_phase2_length(*_file(0.80 + 0.03, 0.80).values())["chosen"] == rc.LONGER
    assert rc.choose_phase2_length(*_file(0.80 + 0.02, 0.80).values())["chosen"] == rc.SHORTER
    assert rc.choose_phase2_length(*_file(0.78, 0.80).values())["chosen"] == rc.SHORTER
    c = rc.choose_phase2_length(*_file(0.80, 0.80).values())
    assert c["needed"] == pytest.approx(2 * (2 * 0.8 * 0.2 / 2500) ** 0.5)


def test_the_row_holds_only_when_the_headline_uses_the_chosen_length():
    prof = get_profile("cpu")
    e, lr = prof.instance.epochs, prof.instance.lr
    kept = rc.rows(_file(0.85, 0.80, e, lr), None, prof)
    assert kept[0]["holds"] is True and f"chosen {e} epochs" in kept[0]["ours"]
    halved = rc.rows(_file(0.80, 0.80, e, lr), None, prof)
    assert halved[0]["holds"] is False and f"chosen {e // 2} epochs" in halved[0]["ours"]


def test_a_profile_that_adopted_the_shorter_length_is_judged_too():
    prof = get_profile("cpu")
    shorter = dataclasses.replace(prof, instance=dataclasses.replace(prof.instance, epochs=prof.instance.epochs // 2))
    file = _file(0.80, 0.80, prof.instance.epochs, prof.instance.lr)
    assert rc.rows(file, None, shorter)[0]["holds"] is True  # the shorter was chosen and adopted
    assert rc.rows(_file(0.85, 0.80, prof.instance.epochs, prof.instance.lr), None, shorter)[0]["holds"] is False
    no_images = {k: {**v, "images": {}} for k, v in file.items()}
    assert rc.rows(no_images, None, prof)[0]["holds"] is None and "older evaluation" in rc.rows(no_images)[0]["ours"]


def test_a_choice_made_for_another_recipe_judges_nothing():
    prof = get_profile("cpu")
    other = dataclasses.replace(prof, instance=dataclasses.replace(prof.instance, lr=prof.instance.lr / 2))
    row = rc.rows(_file(0.85, 0.80, prof.instance.epochs, prof.instance.lr), None, other)[0]
    assert row["holds"] is None and "run the variants command again" in row["ours"]


def test_no_row_without_both_variants_on_a_validation_split():
    assert rc.rows(None) == []
    test_only = _file(0.85, 0.80)
    for r in test_only.values():
        r["test"] = r.pop("validation")
    assert rc.rows(test_only) == []

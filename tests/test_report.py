"""Verdicts over seeds: a difference inside the spread between seeds is "within noise"."""
from llc_lib.report import combine, seed_verdict


def _seeds(**values):
    return {"seeds": [0, 1, 2], "numbers": {k: {"values": v} for k, v in values.items()}}


def test_a_difference_beyond_the_spread_holds_or_fails():
    s = _seeds(a=[0.50, 0.51, 0.52], b=[0.40, 0.41, 0.42])
    assert seed_verdict(s, "a", "b") is True
    assert seed_verdict(s, "b", "a") is False


def test_a_difference_inside_the_spread_is_within_noise():
    s = _seeds(a=[0.50, 0.44, 0.47], b=[0.45, 0.48, 0.46])
    assert seed_verdict(s, "a", "b") == "within noise"


def test_the_margin_shifts_the_verdict():
    s = _seeds(a=[0.60, 0.61, 0.62], b=[0.63, 0.64, 0.65])  # a is 3 points under b, steadily
    assert seed_verdict(s, "a", "b") is False
    assert seed_verdict(s, "a", "b", margin=-0.05) is True  # "within 5 points of b"


def test_missing_numbers_and_combination():
    assert seed_verdict(None, "a", "b") is None
    assert seed_verdict(_seeds(a=[1, 2]), "a", "b") is None
    assert combine([True, "within noise"]) == "within noise"
    assert combine([True, False, "within noise"]) is False
    assert combine([True, True]) is True
    assert combine([True, None]) is None

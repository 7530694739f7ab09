"""Every verdict can fail: each flips when its numbers cross its threshold; the noise rule over seeds is the
paired t-test it states; the interpretability test tells aligned bits from random ones."""

import inspect
import json
import types
import typing
from pathlib import Path

import numpy as np
import pytest

from llc_lib.results import claims
from llc_lib.results.claims import THRESHOLDS as T

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "verdict,holds,fails",
    [
        (claims.warm_start_helps, (0.50, 0.49), (0.49, 0.50)),
        (
            claims.nested_is_free,
            (0.50, 0.50 + T["nested_prefix_points"] / 100 - 1e-3),
            (0.50, 0.50 + T["nested_prefix_points"] / 100 + 1e-3),
        ),
        (
            claims.taxonomy_recovered,
            (0.20, [0.10, 0.20 - T["taxonomy_ari_over_baselines"] - 1e-3]),
            (0.20, [0.10, 0.20 - T["taxonomy_ari_over_baselines"] + 1e-3]),
        ),
        (
            claims.bits_not_interpretable,
            ([0, 3, int(20 * T["interpretable_bit_whole_fraction"]) - 1], 20),
            ([0, 3, int(20 * T["interpretable_bit_whole_fraction"])], 20),
        ),
        (
            claims.codebook_ranking,
            ({"llc": 4, "svd": 3, "random": 2, "cca": 1},),
            ({"llc": 4, "svd": 2, "random": 3, "cca": 1},),
        ),
        (
            claims.llc_beats_baselines,
            ({"llc": 4, "svd": 3, "random": 2, "cca": 1},),
            ({"llc": 3, "svd": 4, "random": 2, "cca": 1},),
        ),
        (
            claims.near_real,
            (60.0, 60.0 + T["near_real_mhd_points"] - 0.01),
            (60.0, 60.0 + T["near_real_mhd_points"] + 0.01),
        ),
        (
            claims.about_as_good_as_real,
            (30.0, 30.0 + T["retrieval_llc_vs_real_points"] - 0.01),
            (30.0, 30.0 + T["retrieval_llc_vs_real_points"] + 0.01),
        ),
        (  # two-sided: LLC far above a weak real-valued baseline is not "about as good" either
            claims.about_as_good_as_real,
            (30.0 + T["retrieval_llc_vs_real_points"] - 0.01, 30.0),
            (30.0 + T["retrieval_llc_vs_real_points"] + 0.01, 30.0),
        ),
        (
            claims.ood_zero_sample_matches,
            ([T["ood_samples_to_match"], None],),
            ([T["ood_samples_to_match"] - 1, None],),
        ),
        (claims.all_codes_unique, (100, 100), (99, 100)),
        (claims.beats, (2.0, 1.0), (1.0, 2.0)),
        (claims.goal_reached, (0.75, 0.75), (0.749, 0.75)),
        (
            claims.fast_codebook_close,
            (50.0 - T["fast_codebook_points"], 50.0),
            (50.0 - T["fast_codebook_points"] - 0.01, 50.0),
        ),
    ],
)
def test_each_verdict_flips_across_its_threshold(verdict, holds, fails):
    assert verdict(*holds) is True and verdict(*fails) is False


def _seeds(a, b):
    return {"seeds": list(range(len(a))), "numbers": {"a": {"values": a}, "b": {"values": b}}}


def test_the_noise_rule_is_a_one_sided_paired_t_test_over_the_seeds():
    # d = a - b = [x - 1, x, x + 1]: sd 1, t = x sqrt(3); the 95th percentile of t with 2 dof is 2.92
    for x, verdict in ((2.95 / 3**0.5, True), (2.88 / 3**0.5, "within noise"), (-2.95 / 3**0.5, False)):
        assert claims.seed_verdict(_seeds([x - 1, x, x + 1], [0, 0, 0]), "a", "b") == verdict, x
    # a rule of |mean| > one sample sd would call x = 1.66 a difference; the t-test does not
    assert claims.seed_verdict(_seeds([0.66, 1.66, 2.66], [0, 0, 0]), "a", "b") == "within noise"
    assert "t-test" in claims.NOISE_RULE


def test_the_span_test_tells_superclass_aligned_bits_from_random_ones():
    from llc_lib.kernels.taxonomy import superclasses_kept_whole
    from llc_lib.studies.separability import superclass_span_test

    sup = np.repeat(np.arange(20), 5)  # 100 classes, 5 per superclass
    aligned = np.stack([np.where(np.isin(sup, np.arange(j, j + 10) % 20), 1, -1) for j in range(14)], 1)
    rng = np.random.default_rng(1)
    random = np.where(rng.random((100, 14)) < 0.5, 1, -1)
    a, r = superclass_span_test(aligned, sup, 300), superclass_span_test(random, sup, 300)
    assert a["p_value"] == 1 / 301  # no random codebook as aligned: the smallest p-value 300 draws can give
    assert r["p_value"] > 0.05
    assert a["mean_span"] == 10 and r["random_mean_span"] > 15
    # the paper's statement: bits that follow the superclasses are interpretable, random ones are not
    whole_a, whole_r = superclasses_kept_whole(aligned, sup), superclasses_kept_whole(random, sup)
    assert whole_a.tolist() == [20] * 14 and not claims.bits_not_interpretable(whole_a.tolist(), 20)
    assert whole_r.max() < 10 and claims.bits_not_interpretable(whole_r.tolist(), 20)
    # a bit that keeps exactly the superclasses 0..4 whole and splits the others
    half = np.where(np.isin(sup, np.arange(5)) | (np.arange(100) % 5 < 2), 1, -1)[:, None]
    assert superclasses_kept_whole(half, sup).tolist() == [5]


def _vals(**numbers):
    return {"seeds": [0, 1, 2], "numbers": {k: {"values": v} for k, v in numbers.items()}}


def test_the_taxonomy_and_nesting_verdicts_over_seeds_flip_across_their_thresholds():
    m, spread = T["taxonomy_ari_over_baselines"], np.array([-0.01, 0.0, 0.01])
    for gap, verdict in ((m + 0.03, True), (m, "within noise"), (m - 0.03, False)):
        s = _vals(
            **{
                "taxonomy_ari_llc@14": list(0.2 + gap + spread),
                "taxonomy_ari_svd@14": [0.2] * 3,
                "taxonomy_ari_random@14": [0.0] * 3,
            }
        )
        assert claims.taxonomy_seed_verdict(s, 14) == verdict, gap
    c = T["nested_prefix_points"] / 100
    for cost, verdict in ((c - 0.01, True), (c, "within noise"), (c + 0.01, False)):  # single - prefix
        s = _vals(
            **{
                "llc_nested_prefix_class_code_acc@20": list(0.5 + spread / 5),
                "llc_single_class_code_acc@20": list(0.5 + cost + spread / 10),
            }
        )
        assert claims.nested_seed_verdict(s, 20) == verdict, cost
    assert claims.nested_seed_verdict(_vals(), 20) is None  # numbers missing: no verdict
    # a goal is a constant: the seeds' values against it
    assert claims.seed_verdict(_vals(p=[0.56, 0.57, 0.58]), "p", 0.5) is True
    assert claims.seed_verdict(_vals(p=[0.40, 0.60, 0.50]), "p", 0.5) == "within noise"


def test_each_threshold_is_typed_in_one_study_module():
    """``claims.THRESHOLDS`` is the union of the modules' thresholds: a name two modules define would silently
    keep one of the values."""
    import importlib
    import pkgutil

    import llc_lib.results.claims as package

    modules = [importlib.import_module(f"{package.__name__}.{m.name}") for m in pkgutil.iter_modules(package.__path__)]
    assert len(modules) >= 9
    assert sum(len(m.THRESHOLDS) for m in modules) == len(T)
    assert all(T[name] == value for m in modules for name, value in m.THRESHOLDS.items())


def _declared(hint):
    """``hint`` without None, if it is ``X | None``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 else hint


def _missing(layout, values: list, where: str) -> list[str]:
    """The keys the ``TypedDict`` ``layout`` declares that the JSON objects ``values`` (one position of a results
    file) lack: a required key missing from any of them, an optional one from all of them; nested layouts
    (a ``TypedDict`` field, or the values of a ``dict[str, ...]`` of them) checked the same way."""
    out = []
    for key, hint in typing.get_type_hints(layout).items():
        present = [v[key] for v in values if key in v]
        if not present or (key in layout.__required_keys__ and len(present) < len(values)):
            out.append(f"{where}.{key}")
        hint, at = _declared(hint), f"{where}.{key}"
        while typing.get_origin(hint) is dict:  # {name: value}: every value
            hint, present, at = typing.get_args(hint)[1], [x for v in present for x in v.values()], f"{at}.*"
        if typing.is_typeddict(hint):
            out += _missing(hint, present, at)
    return out


def test_every_key_a_claims_module_reads_is_in_the_committed_results():
    """The layout each claims module declares for the results file it reads (its rows function's first
    parameter, ``report.ROWS``; the seed study's ``SeedStudy``) is that of the committed results: a key a
    study no longer writes, or one a claims module reads under another name, fails here."""
    from llc_lib.results import report
    from llc_lib.results.claims import common

    figures = Path(__file__).parents[1] / "figures"
    layouts = {(common.SEEDS, common.SeedStudy)}
    for stem, rows_of in report.ROWS:
        first = next(iter(inspect.signature(rows_of).parameters))
        layouts.add((stem, _declared(typing.get_type_hints(rows_of)[first])))
    missing = []
    for stem, layout in sorted(layouts, key=str):
        assert typing.is_typeddict(layout), (stem, layout)
        missing += _missing(layout, [json.loads((figures / f"{stem}.json").read_text())], stem)
    assert not missing


def test_the_same_path_llc_codebook_has_one_name():
    """LLC's codebook after the baselines' Phase 2 is named by ``same_path_key`` in the studies' results and in
    the seed study's numbers alike."""
    figures = Path(__file__).parents[1] / "figures"
    acc = json.loads((figures / "02_accuracy_vs_bits.json").read_text())
    seeds = json.loads((figures / "seeds.json").read_text())
    key = claims.same_path_key("llc")
    assert key == claims.SAME_PATH_LLC and key in acc["methods"]
    assert f"{key}_mhd@{seeds['table_bits']}" in seeds["numbers"]
    assert [claims.same_path_key(b) for b in ("svd", "random", "cca")] == ["svd", "random", "cca"]


def _seed_files():
    import copy
    import json

    from llc_lib.results.claims.headline import SEED_FILE_METRICS

    h0 = json.loads((REPO / "figures" / "headline_results.json").read_text())
    for row in h0["llc"].values():  # every number a seed file gives, whichever evaluation made the committed file
        row.update({m: row.get(m, 0.5) for m in SEED_FILE_METRICS})
    h1 = copy.deepcopy(h0)
    h1["seed"], h1["real_top1"] = 1, h0["real_top1"] - 0.01
    h1["checkpoints"] = {k: v.replace("-", "-s1-", 1) for k, v in h0["checkpoints"].items()}
    for row in h1["llc"].values():
        row["mhd_acc"] -= 0.02
    return h0, h1


def test_seed_files_give_the_headline_numbers_over_their_seeds_and_refuse_another_recipe():
    import json

    from llc_lib.results.claims.seed_files import with_seed_files

    seeds = json.loads((REPO / "figures" / "seeds.json").read_text())
    h0, h1 = _seed_files()
    expected = {("headline", 0): h0["checkpoints"], ("headline", 1): h1["checkpoints"]}
    out = with_seed_files(seeds, {"a.json": h0, "b.json": h1}, expected)
    k = next(iter(h0["llc"]))
    stat = out["numbers"][f"llc_mhd_acc@{k}"]
    assert stat["seeds"] == [0, 1] and stat["values"] == [h0["llc"][k]["mhd_acc"], h1["llc"][k]["mhd_acc"]]
    assert abs(stat["std"] - 0.02 / 2**0.5) < 1e-9
    assert set(h1["checkpoints"].values()) <= set(out["checkpoints"]["1"])
    assert out["numbers"]["nested_cost@20"] == seeds["numbers"]["nested_cost@20"]  # the others as they were
    study = seeds.get("study_numbers", seeds["numbers"])[f"llc_class_code_acc@{k}"]  # measured by the study itself
    merged = out["numbers"][f"llc_class_code_acc@{k}"]
    assert merged["seeds"] == seeds["seeds"] and merged["values"][2:] == study["values"][2:]
    assert merged["values"][:2] == [h0["llc"][k]["class_code_acc"], h1["llc"][k]["class_code_acc"]]
    usable, _ = claims.usable_seed_numbers(out, 0, h0["number_checkpoints"])
    assert f"llc_mhd_acc@{k}" in usable["numbers"]  # the per-seed numbers judge the headline they came from
    other = {**h1, "checkpoints": {**h1["checkpoints"], "llc_phase2": "instance-k64-000000000000"}}
    for files, match in (
        ({"a.json": h0, "b.json": other}, "another recipe"),
        ({"a.json": h0, "b.json": {**h1, "seed": 0}}, "second results file"),
        ({"a.json": h0, "b.json": {**h1, "profile": "smoke"}}, "profile"),
        ({"a.json": h0}, "at least two seeds"),
        ({"a.json": h0, "b.json": {**h1, "llc": {k: {} for k in h1["llc"]}}}, "lacks"),
        ({"a.json": h0, "b.json": h1, "c.json": {"seed": 1}}, "not a per-seed results file"),
    ):
        with pytest.raises(ValueError, match=match):
            with_seed_files(seeds, files, expected)


def _other_seed_files():
    """Per-seed OOD and equal-budget files of seeds 0 and 1, from the committed OOD and accuracy results (seed 1:
    ED 2 points lower on every set, the equal-budget model 1 point lower)."""
    import copy

    ood0 = json.loads((REPO / "figures" / "07_ood.json").read_text())
    ood0.update(profile="cpu", seed=0, checkpoints={"real": "real-a", "llc_phase1": "llc-a", "llc_phase2": "inst-a"})
    ood1 = copy.deepcopy(ood0)
    ood1.update(seed=1, checkpoints={"real": "real-b", "llc_phase1": "llc-b", "llc_phase2": "inst-b"})
    for r in ood1["sets"].values():
        r["llc_ed"][str(max(ood1["ood_bits"]))]["acc"] -= 0.02
    acc = json.loads((REPO / "figures" / "02_accuracy_vs_bits.json").read_text())
    eq0 = {"profile": "cpu", "seed": 0, "real_top1_equal_budget": acc["real_top1_equal_budget"]}
    eq0["equal_budget_checkpoints"] = {"real": "real-a", "real_equal_budget": "plus-a"}
    eq1 = {**eq0, "seed": 1, "real_top1_equal_budget": eq0["real_top1_equal_budget"] - 0.01}
    eq1["equal_budget_checkpoints"] = {"real": "real-b", "real_equal_budget": "plus-b"}
    return ood0, ood1, eq0, eq1


def test_ood_and_equal_budget_files_join_the_seed_study_and_are_refused_from_another_recipe():
    from llc_lib.results.claims.seed_files import checkpoints_of, study_of, with_seed_files

    seeds = json.loads((REPO / "figures" / "seeds.json").read_text())
    ood0, ood1, eq0, eq1 = _other_seed_files()
    files = {"o0.json": ood0, "o1.json": ood1, "e0.json": eq0, "e1.json": eq1}
    expected = {(study_of(h), h["seed"]): checkpoints_of(study_of(h), h) for h in files.values()}
    out = with_seed_files(seeds, files, expected)
    name = next(iter(ood0["sets"]))
    ed = out["numbers"][f"ood_ed_acc@{name}"]
    assert ed["seeds"] == [0, 1] and abs(ed["values"][0] - ed["values"][1] - 0.02) < 1e-12
    assert out["numbers"]["real_top1_equal_budget"]["values"] == [
        eq0["real_top1_equal_budget"],
        eq1["real_top1_equal_budget"],
    ]
    assert {"real-b", "llc-b", "inst-b", "plus-b"} <= set(out["checkpoints"]["1"])
    assert out["seed_files"] == ["o0.json", "o1.json", "e0.json", "e1.json"]
    # no headline file: the headline numbers are the study's own
    assert out["numbers"]["llc_mhd_acc@14"] == seeds["study_numbers"]["llc_mhd_acc@14"]
    for bad, match in (
        ({**ood1, "checkpoints": {**ood1["checkpoints"], "llc_phase2": "inst-c"}}, "another recipe"),
        ({**eq1, "equal_budget_checkpoints": {"real": "real-b", "real_equal_budget": "plus-c"}}, "another recipe"),
    ):
        key = "o1.json" if "sets" in bad else "e1.json"
        with pytest.raises(ValueError, match=match):
            with_seed_files(seeds, {**files, key: bad}, expected)
    with pytest.raises(ValueError, match="ood results files of at least two seeds"):
        with_seed_files(seeds, {"o0.json": ood0, "e0.json": eq0, "e1.json": eq1}, expected)
    for changed in ({"ns": ood1["ns"][:2]}, {"repeats": 2}, {"sets": dict(list(ood1["sets"].items())[:2])}):
        with pytest.raises(ValueError, match="o1.json was made with"):  # the row's numbers depend on the setup
            with_seed_files(seeds, {**files, "o1.json": {**ood1, **changed}}, expected)
    with pytest.raises(ValueError, match="not one of the seeds asked for"):
        with_seed_files(seeds, files, {k: v for k, v in expected.items() if k != ("ood", 1)})


def test_the_ood_and_equal_budget_rows_are_judged_over_the_seeds_and_flip_across_their_thresholds():
    """The OOD row holds over the seeds only when ED beats MSP tuned on fewer than the threshold's samples on every
    set, by the noise rule; the equal-budget near-real row when LLC's MHD is within the tolerance of the
    equal-budget real-valued model; each says how many seeds it is over, and is a one-seed row without them."""
    from llc_lib.results.claims import accuracy as a
    from llc_lib.results.claims import ood as o

    ood = json.loads((REPO / "figures" / "07_ood.json").read_text())
    acc = json.loads((REPO / "figures" / "02_accuracy_vs_bits.json").read_text())
    k = str(acc["table_bits"])

    def study(numbers):
        return {
            "seeds": [0, 1, 2],
            "numbers": {
                n: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)), "values": list(v)}
                for n, v in numbers.items()
            },
        }

    def ood_numbers(gap_last):
        out = {}
        for i, name in enumerate(ood["sets"]):
            gap = gap_last if i == len(ood["sets"]) - 1 else 0.05
            out[f"ood_ed_acc@{name}"] = [0.70, 0.71, 0.72]
            out[f"ood_msp_below_acc@{name}"] = [0.70 - gap, 0.71 - gap + 0.001, 0.72 - gap - 0.001]
        return out

    held = o.rows(ood, study(ood_numbers(0.05)))[0]
    assert held["seeds"] is True and held["over_seeds"] == 3 and "over the seeds" in held["ours"]
    assert o.rows(ood, study(ood_numbers(-0.05)))[0]["seeds"] is False
    assert "one seed" in o.rows(ood, None)[0]["ours"] and "seeds" not in o.rows(ood, None)[0]
    one = o.seed_numbers(ood)
    assert set(one) == {f"ood_{m}@{n}" for n in ood["sets"] for m in ("ed_acc", "msp_below_acc")}
    # on one seed the numbers give the study's own verdict: ED beats MSP below the threshold on every set
    assert all(one[f"ood_ed_acc@{n}"] > one[f"ood_msp_below_acc@{n}"] for n in ood["sets"]) == ood["holds"]
    for name, r in ood["sets"].items():  # MSP tuned on fewer samples than the threshold, never on more
        tuned = r["tuned"][o.MSP]
        below = [a for n, a in zip(tuned["n"], tuned["acc_mean"]) if n < T["ood_samples_to_match"]]
        assert one[f"ood_msp_below_acc@{name}"] == max(below)

    def near_row(gap_points):
        llc = [0.60, 0.61, 0.62]
        real = [x + (gap_points + np.array(d)) / 100 for x, d in zip(llc, (0.0, 0.1, -0.1))]
        seeds = study({f"llc_mhd_acc@{k}": llc, "real_top1_equal_budget": real})
        rows = {r["claim"].split(" (")[0]: r for r in a.codebook_rows(acc, seeds)}
        return rows["LLC near real-valued accuracy at ~2 log2 C bits"]

    tol = T["near_real_mhd_points"]
    assert near_row(tol - 1)["seeds"] is True and near_row(tol - 1)["over_seeds"] == 3
    assert near_row(tol + 1)["seeds"] is False
    assert "over the seeds" in near_row(tol - 1)["ours"]
    two = study({f"llc_mhd_acc@{k}": [0.60, 0.61, 0.62]})  # the real model of two seeds only: paired over those
    two["numbers"]["real_top1_equal_budget"] = {"mean": 0.7, "std": 0.0, "values": [0.7, 0.7], "seeds": [0, 2]}
    row = {r["claim"].split(" (")[0]: r for r in a.codebook_rows(acc, two)}[
        "LLC near real-valued accuracy at ~2 log2 C bits"
    ]
    assert row["over_seeds"] == 2 and "the real model over seeds [0, 2]" in row["ours"] and row["seeds"] is False
    assert (
        "one seed"
        in {r["claim"].split(" (")[0]: r for r in a.codebook_rows(acc, None)}[
            "LLC near real-valued accuracy at ~2 log2 C bits"
        ]["ours"]
    )


def test_a_seed_verdict_pairs_two_numbers_over_the_seeds_both_have():
    study = {
        "seeds": [0, 1, 2],
        "numbers": {
            "a": {"mean": 0, "std": 0, "values": [0.9, 0.91], "seeds": [1, 2]},
            "b": {"mean": 0, "std": 0, "values": [0.95, 0.5, 0.5]},  # seed 0, or pairing by position, makes a - b < 0
        },
    }
    assert claims.seed_verdict(study, "a", "b") is True


def test_retrieval_rows_judge_llc_against_the_features_of_its_own_budget():
    """The two rows that compare LLC with real-valued k-dim features read the equal-budget features, say which,
    and are n/a without them; the features of their own, shorter budget only stand beside."""
    from llc_lib.results.claims import retrieval as r

    def ret(eq_epochs, equal=True):
        maps = {r.LLC: (48.7, 58.7), r.REAL_COSINE: (36.8, 40.9), r.REAL_EQUAL_BUDGET: (45.1, 49.1)}
        methods = {
            name: {str(k): {"map_tie_aware" if name == r.LLC else "map": v / 100} for k, v in zip((10, 64), vals)}
            for name, vals in maps.items()
            if equal or name != r.REAL_EQUAL_BUDGET
        }
        return {"methods": methods, "epochs": {r.LLC: 45, "real k-dim": 15, r.REAL_EQUAL_BUDGET: eq_epochs}}

    def judged(res):
        return {row["claim"].split(" (")[0]: row for row in r.rows(res) if "real-valued features" in row["claim"]}

    rows = judged(ret(45))
    near, better = (
        rows["10-bit LLC about as good as 10-dim real-valued features"],
        rows["at 64 dims real-valued features are clearly better than 64-bit LLC"],
    )
    assert near["holds"] is False and near["ours"].startswith("48.7 vs 45.1 (+3.6")  # outside 3 points, above
    assert better["holds"] is False and better["ours"].startswith("49.1 vs 58.7")
    assert "45 epochs, the instance codes' budget" in near["claim"]
    assert (
        "the instance codes of 45"
        in judged(ret(30))["10-bit LLC about as good as 10-dim real-valued features"]["claim"]
    )
    assert all(row["holds"] is None and row["ours"].startswith("n/a") for row in judged(ret(45, equal=False)).values())

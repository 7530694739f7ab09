"""Every study on small synthetic data (random images, 100 classes, one optimiser step per run): the numbers
are well-formed, the verdicts follow the thresholds in ``claims``, and nothing touches the real files."""

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from llc_lib.config.overrides import apply_sets
from llc_lib.config.profiles import get_profile
from llc_lib.graph import plan
from llc_lib.graph.selection import DataSel
from llc_lib.graph.workspace import Workspace
from llc_lib.results import claims
from llc_lib.results.claims.retrieval import REAL_EQUAL_BUDGET
from llc_lib.studies import Context

from conftest import synthetic_dataset


def _with_coarse(ds):
    names = tuple(f"s{i}" for i in range(20))
    return replace(ds, coarse_labels=ds.labels // 5, coarse_names=names)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    root = tmp_path_factory.mktemp("studies")
    data = root / "data"
    data.mkdir()
    for name in ("cifar10_test.npz", "tinyimagenet_test32.npz"):  # the OOD sets, synthetic too
        np.savez(data / name, images=synthetic_dataset(10, 10, seed=7).images.numpy())
    mp = pytest.MonkeyPatch()
    mp.setenv("LLC_DATA_DIR", str(data))
    prof = apply_sets(get_profile("smoke"), ["epochs=1", "max_steps=1"])
    ws = Workspace(root / "runs", torch.device("cpu"), progress=False)
    ws.store.preload(("cifar100", "train"), _with_coarse(synthetic_dataset(24, 100, seed=1)))
    ws.store.preload(("cifar100", "test"), _with_coarse(synthetic_dataset(10, 100, seed=2)))
    yield Context(prof, ws, root / "fig")
    mp.undo()


def _run(ctx, study, seed, *args, **kw):
    """``study(ctx, seed, ...)``; fails if the study fits a model that its ``specs`` declaration (which the
    Make manifest is built from) does not name, its ancestors included."""
    fitted, fit = [], ctx.ws.fit
    ctx.ws.fit = lambda spec, **k: (fitted.append(spec), fit(spec, **k))[1]
    try:
        res = study(ctx, seed, *args, **kw)
    finally:
        del ctx.ws.fit
    declared = {a.key for s in study.specs(ctx.profile, seed) for a in s.ancestors() + [s]}
    assert fitted and not [s.label for s in fitted if s.key not in declared], study.__name__
    return res


def test_a_study_that_fits_an_undeclared_model_fails_the_check(ctx):
    from llc_lib.graph import plan
    from llc_lib.studies import fits

    @fits(lambda p, seed: [plan.real(p, seed)])
    def sneaky(ctx, seed):
        return ctx.fit(plan.real(ctx.profile, seed)), ctx.fit(plan.real_bottleneck(ctx.profile, seed))

    with pytest.raises(AssertionError, match="sneaky"):
        _run(ctx, sneaky, 0)


def _frac(x):
    return 0.0 <= x <= 1.0


def test_headline_and_train_all(ctx):
    from llc_lib.studies import headline

    res = _run(ctx, headline.train_all, 0)
    h = res["headline"]
    assert set(h["llc"]) == {str(k) for k in ctx.profile.bits} and _frac(h["real_top1"])
    assert all(_frac(v) for v in res["accuracies"].values())
    assert h["recipe"]["nested"] == list(ctx.profile.sweep) and h["seconds"]["real"] >= 0
    for rows in (h["llc"], h["llc_train"]):
        for k, r in rows.items():
            p = r["p_exact_given_class_code_right"]
            assert np.isnan(p) or (0 <= p <= 1 and (p < 1 or r["bits_right_if_class_code_right"] == int(k)))
    from llc_lib.studies.evaluation import evaluate_llc

    seen = ctx.ws.store.get(plan.train_eval_data(ctx.profile, 0), "train")
    _, p1, p2 = plan.headline(ctx.profile, 0)
    again = evaluate_llc(ctx.fit(p1), ctx.fit(p2), seen, ctx.ws.device, ctx.profile.bits)
    assert h["train_eval_images"] == len(seen) and h["llc_train"] == {str(k): r for k, r in again.items()}
    from llc_lib.engine.inference import class_codes, head_logits, outputs

    inst, y = ctx.fit(p2), seen.labels.numpy()
    proj, codes = outputs(inst, seen, ctx.ws.device)["proj"], class_codes(ctx.fit(p1))
    for k, r in again.items():  # P(exact | right) on Phase 2's own class decision, by hand
        exact = ((proj[:, :k] > 0) == (codes[y, :k] > 0)).all(1)
        right = head_logits(inst, proj, k).argmax(1) == y
        expected = exact[right].mean() if right.any() else float("nan")
        assert np.isclose(r["p_exact_given_phase2_class_right"], expected, equal_nan=True)
        assert r["phase2_class_acc"] == right.mean()
        assert np.isclose(r["ed_over_class_code_acc"], r["ed_acc"] / r["class_code_acc"], equal_nan=True)


def test_the_gpu_profile_recipe_runs_end_to_end_on_the_cpu(ctx, tmp_path):
    """The gpu profile is run only when a GPU is lent, for minutes: its own recipe (whole-batch Phase 2, its
    schedules and lengths) goes through the headline here first, on a narrow network and one step per epoch."""
    from llc_lib.studies import Context, headline

    gpu = get_profile("gpu")
    prof = apply_sets(gpu, ["width=4", "epochs=1", "max_steps=1", "subset=10"])
    ws = Workspace(tmp_path / "runs", torch.device("cpu"), progress=False)
    for split in ("train", "test"):
        ws.store.preload(("cifar100", split), ctx.ws.store.get(DataSel(), split))
    res = _run(Context(prof, ws, tmp_path / "fig"), headline.reproduce, 0)
    assert res["profile"] == "gpu" and set(res["llc"]) == {str(k) for k in gpu.bits}
    assert res["recipe"]["instance"]["micro_batch"] is None  # whole batches, unlike the cpu profile
    assert (res["recipe"]["instance"]["lr"], res["recipe"]["instance"]["bce_scale"]) == (
        gpu.instance.lr,
        gpu.instance.bce_scale,
    )
    assert res["recipe"]["width"] == 4 and res["recipe"]["llc"]["schedule"] == gpu.llc.schedule
    for k, r in res["llc"].items():
        assert 0 <= r["bits_right"] <= int(k) and _frac(r["class_code_acc"])


def _recording(monkeypatch, name):
    """Record the arguments of every call of ``claims.<name>`` (the verdict still decides as before)."""
    calls, verdict = [], getattr(claims, name)
    monkeypatch.setattr(claims, name, lambda *a: (calls.append(a), verdict(*a))[1])
    return calls


def test_accuracy_vs_bits_verdicts_follow_the_thresholds(ctx, monkeypatch):
    from llc_lib.studies.accuracy import accuracy_vs_bits, fast_codebook

    warm_calls = _recording(monkeypatch, "warm_start_helps")
    res = _run(ctx, accuracy_vs_bits, 0, [7, 14])
    assert set(res["methods"]) == {"llc", "llc_same_path", "random", "svd", "cca"} and set(res["real_bottleneck"]) == {
        "7",
        "14",
    }
    n = res["nested"]
    assert n["holds"] == (
        n["prefix_class_code_acc"][str(plan.NESTED_BITS)]
        >= n["single_class_code_acc"] - claims.THRESHOLDS["nested_prefix_points"] / 100
    )
    w = res["warm_start"]
    assert w["holds"] == all(w[i]["after_sign_mhd"] > w["scratch"]["sign_mhd"] for i in ("svd", "cca"))
    # each warm start is judged against LLC from scratch at equal epochs, not against its codebook's MHD
    expected = [(w[i]["after_sign_mhd"], w["scratch"]["sign_mhd"]) for i in ("svd", "cca")]
    assert warm_calls and warm_calls == expected[: len(warm_calls)]  # all() stops at the first failing one
    assert n["cost_points"] == pytest.approx(
        100 * (n["single_class_code_acc"] - n["prefix_class_code_acc"][str(plan.NESTED_BITS)])
    )
    for k in ("7", "14"):  # LLC's bits right is the mixture of R and W by its class-code accuracy
        sp, a = res["llc_bits_right_split"][k], res["llc_class_code_acc"][k]
        assert res["methods"]["llc"][k]["bits_right"] == pytest.approx(
            a * sp["if_class_code_right"] + (1 - a) * sp["if_class_code_wrong"], abs=1e-6
        )
    assert res["seed_spread"] == {"seeds": [], "sd": {}, "why": "there is no seed study (`make seeds` makes one)"}
    f = _run(ctx, fast_codebook, 0)
    assert f["codebook_images"] == 1000 and f["bits"] == ctx.profile.table_bits and _frac(f["main_mhd_acc"])
    with pytest.raises(ValueError, match="bit widths"):
        accuracy_vs_bits(ctx, 0, [65])


def test_codes_taxonomy_and_separability(ctx, monkeypatch):
    from llc_lib.studies.codes import code_study
    from llc_lib.studies.separability import bit_interpretability, separability
    from llc_lib.studies.taxonomy import taxonomy_study

    c = _run(ctx, code_study, 0, 14)
    assert c["_books"]["LLC"].shape == (100, 14) and sorted(c["_tax_order"]) == list(range(100))
    for name in ("Random", "SVD"):  # the heat maps show the codebooks the codebook comparison evaluates
        book = ctx.ws.codebook(plan.baseline_instance(ctx.profile, name.lower(), 0).codebook)["codes"]
        assert np.array_equal(c["_books"][name], book[:, :14])
    assert c["_real_similarity"].shape == (100, 100) and set(c["similarity_to_real"]) == {"LLC", "SVD", "Random"}
    tax_calls = _recording(monkeypatch, "taxonomy_recovered")
    t = _run(ctx, taxonomy_study, 0, 14, 20)
    m = t["methods"]
    mean = {n: m[n]["class_order"]["ari_mean"] for n in ("LLC", "Random", "SVD")}
    assert tax_calls == [(mean["LLC"], [mean["Random"], mean["SVD"]])]  # judged over class orders
    assert all(
        0 <= r["tied_merges"] <= 99 and r["class_order"]["ari_min"] <= r["class_order"]["ari_max"] for r in m.values()
    )
    assert t["holds"] == (mean["LLC"] > max(mean["Random"], mean["SVD"]) + t["threshold_ari_over_baselines"])
    s = _run(ctx, separability, 0, [7, 14])
    assert set(s["rows"]["7"]) == {"phase1", "phase2"} and set(s["linear_minus_hamming"]) == {"7", "14"}
    b = _run(ctx, bit_interpretability, 0, 14)
    assert b["holds"] == (b["span_test"]["p_value"] >= b["threshold_alpha"]) and len(b["span_test"]["span"]) == 14
    with pytest.raises(ValueError, match="n_clusters"):
        taxonomy_study(ctx, 0, 14, 1)


def test_retrieval_and_ood(ctx, capsys):
    from llc_lib.results.claims.ood import MSP_PHASE1_BUDGET
    from llc_lib.studies.ood import ood_study
    from llc_lib.studies.retrieval import retrieval_study

    capsys.readouterr()
    r = _run(ctx, retrieval_study, 0, [8, 16], R=50, pr_bits=[16])
    said = capsys.readouterr().out  # a long cell shows where it is: one line per step, with the time
    assert re.search(r"^\[\d+:\d\d\] retrieval at 8 bits", said, re.M) and "retrieval at 16 bits" in said
    assert REAL_EQUAL_BUDGET in r["methods"]  # the default compares with features of LLC's budget
    assert {"LLC", "HashNet", "CSQ", "real k-dim, sign", "real k-dim, cosine"} <= set(r["methods"])
    assert all(_frac(r["methods"]["LLC"][k]["map_tie_aware"]) for k in ("8", "16")) and r["R"] == 50
    assert all(_frac(r["methods"][r["llc_predicted_class_method"]][k]["map_tie_aware"]) for k in ("8", "16"))
    # the predicted-class baseline also from the real model of the instance codes' budget, with its epochs
    same = r["predicted_class_equal_budget_method"]
    assert all(_frac(r["methods"][same][k]["map_tie_aware"]) for k in ("8", "16"))
    assert r["epochs"][same] == ctx.profile.llc.epochs + ctx.profile.instance.epochs
    assert r["methods"][same]["8"]["map_tie_aware"] != r["methods"][r["predicted_class_method"]]["8"]["map_tie_aware"]
    o = _run(ctx, ood_study, 0, ns=[10, 30], repeats=2)
    assert o["id_classes"] == ctx.profile.ood_classes and len(o["sets"]) == 3
    assert o["epochs"] == {
        "real": ctx.profile.real.epochs,
        "llc": ctx.profile.llc.epochs,
        "instance": ctx.profile.instance.epochs,
        # the baselines' model has trained as many epochs as the instance codes
        "real_equal_budget": ctx.profile.llc.epochs + ctx.profile.instance.epochs,
    }  # the smoke profile's own: no ood_epochs
    from llc_lib.results.report import ood_markdown

    assert f"for {ctx.profile.real.epochs} (real-valued)" in ood_markdown(o)
    assert f"MSP and energy score the real-valued model trained on to {o['epochs']['real_equal_budget']} epochs" in (
        ood_markdown(o)
    )
    needed = [row["samples_to_match"]["MSP"][str(max(o["ood_bits"]))] for row in o["sets"].values()]
    assert o["holds"] == claims.ood_zero_sample_matches(needed)
    assert o["baselines"] == {"MSP": "real_equal_budget", "energy": "real_equal_budget", MSP_PHASE1_BUDGET: "real"}
    assert all(MSP_PHASE1_BUDGET in row["tuned"] for row in o["sets"].values())
    # the shorter model's MSP is another score than the baselines' (the same model would give the same numbers)
    row = next(iter(o["sets"].values()))["threshold_free"]
    assert row["MSP"] != row[MSP_PHASE1_BUDGET]
    # and the baselines' model is the equal-budget one: MSP's AUROC on the first OOD set is that of its scores
    from llc_lib.engine.inference import outputs
    from llc_lib.kernels import ood
    from llc_lib.studies.ood import ood_data

    d = ood_data(ctx, 0, n_val=30)
    name, (_, ood_test) = next(iter(d["ood"].items()))
    same = ctx.fit(plan.ood_equal_budget(ctx.profile, 0))
    msp = [ood.msp_score(outputs(same, x, ctx.ws.device)["logits"]) for x in (d["test_in"], ood_test)]
    assert o["sets"][name]["threshold_free"]["MSP"] == ood.threshold_free(*msp)
    with pytest.raises(ValueError, match="ns must be"):
        ood_study(ctx, 0, ns=[0])


def test_the_equal_budget_predicted_class_is_the_baseline_of_the_longer_model(ctx, monkeypatch):
    """With the continuation replaced by the model it continues, the equal-budget predicted-class codes give the
    15-epoch baseline's numbers exactly: the same model, the same database order."""
    from llc_lib.studies.retrieval import retrieval_study

    monkeypatch.setattr(plan, "equal_budget", lambda p, spec, total=None: spec)
    r = _run(ctx, retrieval_study, 0, [8], R=50, pr_bits=[8])
    pc, same = r["predicted_class_method"], r["predicted_class_equal_budget_method"]
    assert r["methods"][same]["8"] == {k: v for k, v in r["methods"][pc]["8"].items() if k != "pr"}


def test_ood_and_equal_budget_results_are_per_seed_files_the_seed_study_takes(ctx):
    """Each study writes the profile, seed and checkpoints the seed study checks a file against, and gives it the
    numbers its row is judged by; two seeds of each assemble into a seed study."""
    from llc_lib.results.claims import seed_files
    from llc_lib.studies.accuracy import equal_budget_study
    from llc_lib.studies.ood import ood_study

    files, expected = {}, {}
    for seed in (0, 1):
        for kind, study, kw in (
            ("equal_budget", equal_budget_study, {}),
            ("ood", ood_study, {"ns": [10, 30], "repeats": 2}),
        ):
            res = _run(ctx, study, seed, **kw)
            assert seed_files.study_of(res) == kind and (res["profile"], res["seed"]) == (ctx.profile.name, seed)
            # the models it names are the ones it fits
            fitted = {a.name for spec in study.specs(ctx.profile, seed) for a in spec.ancestors() + [spec]}
            assert set(seed_files.checkpoints_of(kind, res).values()) == fitted
            assert seed_files.checkpoints_of(kind, res) == plan.seed_file_checkpoints(ctx.profile, kind, seed)
            assert all(_frac(v) for v in seed_files.numbers_of(kind, res).values())
            files[f"{kind}_{seed}.json"] = {k: v for k, v in res.items() if not k.startswith("_")}
            expected[kind, seed] = plan.seed_file_checkpoints(ctx.profile, kind, seed)
    study = {"profile": ctx.profile.name, "seeds": [0, 1], "table_bits": 14, "numbers": {}, "checkpoints": {}}
    out = seed_files.with_seed_files(study, files, expected)
    assert out["numbers"]["real_top1_equal_budget"]["seeds"] == [0, 1]
    assert sum(name.startswith("ood_ed_acc@") for name in out["numbers"]) == 3


def test_instance_variant_bits_right_is_the_mixture_over_right_and_wrong_class_codes(ctx):
    from llc_lib.studies.instance import accuracy_needed, run_variant

    row = run_variant(ctx, "profile", bits=(20,), train_per_class=5)
    t = row["test"]["20"]
    a, right, wrong = t["class_code_acc"], t["bits_right_if_class_code_right"], t["bits_right_if_class_code_wrong"]
    assert 0 < a < 1 and 0 <= wrong <= 20 and 0 <= right <= 20
    assert t["bits_right"] == pytest.approx(a * right + (1 - a) * wrong, abs=1e-6)
    assert accuracy_needed(t["bits_right"], right, wrong) == pytest.approx(a, abs=1e-6)
    assert row["goal"]["class_code_acc_needed"] == pytest.approx(accuracy_needed(18.5, right, wrong))
    # the predicted class's own code is right on every bit exactly when the prediction is right
    assert t["bits_right_of_predicted_class_code"] >= 20 * a
    # the row says which recipe it measured and which the profile had, and a file keeps rows of one base only
    from llc_lib.studies.instance import check_results

    _, p1, p2 = plan.headline(ctx.profile, 0)
    assert (
        row["base"] == plan.phase_names(ctx.profile, 0) == row["checkpoints"] == {"phase1": p1.name, "phase2": p2.name}
    )
    assert row["recipe"]["instance"]["epochs"] == ctx.profile.instance.epochs
    check_results({"profile": row, "run": {"overrides": list(ctx.profile.overrides)}}, ctx.profile, 0, "f.json")
    longer_p2 = run_variant(ctx, "p2-2x", bits=(20,), train_per_class=5)  # shares Phase 1, its own Phase 2
    assert longer_p2["base"] == row["base"] and longer_p2["checkpoints"]["phase1"] == p1.name
    assert longer_p2["checkpoints"]["phase2"] != p2.name
    assert longer_p2["recipe"]["instance"]["epochs"] == 2 * ctx.profile.instance.epochs
    check_results({"profile": row, "p2-2x": longer_p2}, ctx.profile, 0, "f.json")
    longer = apply_sets(ctx.profile, ["instance.epochs=7"])  # the profile's recipe changed: same names, other models
    with pytest.raises(ValueError, match="f.json holds variants \\(profile\\) of another recipe"):
        check_results({"profile": row}, longer, 0, "f.json")
    with pytest.raises(ValueError, match="f.json holds variants \\(profile\\) of another recipe"):
        check_results({"profile": row}, ctx.profile, 1, "f.json")  # another seed: other models
    with pytest.raises(ValueError, match="does not say which"):
        check_results({"p2-2x": {k: v for k, v in row.items() if k != "base"}}, ctx.profile, 0, "f.json")
    with pytest.raises(ValueError, match="f.json holds variants run with other overrides \\(.*instance.epochs=7, not"):
        check_results({"run": {"overrides": list(longer.overrides)}}, ctx.profile, 0, "f.json")


def test_seeds_study_gives_every_claim_number_its_mean_and_sample_std(ctx):
    from llc_lib.studies import headline

    res = _run(ctx, headline.seeds_study, (0, 1))
    k, n = ctx.profile.table_bits, res["numbers"]
    assert res["seeds"] == [0, 1] and res["table_bits"] == k
    # the checkpoints each seed's numbers come from, so that a report can tell a study of other models
    assert set(res["checkpoints"]) == {"0", "1"}
    assert {s.name for s in plan.headline(ctx.profile, 1)} <= set(res["checkpoints"]["1"])
    assert {"real_top1", f"llc_mhd_acc@{k}", f"llc_bits_right@{k}", f"svd_mhd@{k}", f"llc_same_path_ed@{k}"} <= set(n)
    # the nesting and taxonomy claims' numbers, with what they are made of
    nb = plan.NESTED_BITS
    assert plan.single_length(ctx.profile, 1).name in res["checkpoints"]["1"]
    for v, pre, single in zip(
        *(
            n[f"{m}@{nb}"]["values"]
            for m in ("nested_cost", "llc_nested_prefix_class_code_acc", "llc_single_class_code_acc")
        )
    ):
        assert v == pytest.approx(single - pre)
    assert all(-1 <= x <= 1 for b in ("llc", "svd", "random") for x in n[f"taxonomy_ari_{b}@{k}"]["values"])
    # on the smoke profile both accuracies sit at chance: the cost's sign is checked on numbers that differ
    assert headline.nesting_numbers(0.50, 0.53, 20)["nested_cost@20"] == pytest.approx(0.03)
    for stat in n.values():
        assert len(stat["values"]) == 2
        assert stat["mean"] == pytest.approx(np.mean(stat["values"]))
        assert stat["std"] == pytest.approx(np.std(stat["values"], ddof=1))
    with pytest.raises(ValueError, match="two seeds"):
        headline.seeds_study(ctx, (0,))


def test_phase2_diagnostics_decompose_the_trained_and_refitted_heads(ctx):
    from llc_lib.studies.convergence import phase2_diagnostics

    res = _run(ctx, phase2_diagnostics, 0, bits=(7, 10), random_draws=2)
    for head in ("trained_head", "refitted_head"):
        for split in ("train", "test"):
            r = res[head][split]["10"]
            a = r["class_code_acc"]
            if 0 < a < 1:
                assert r["bits_right"] == pytest.approx(a * r["R"] + (1 - a) * r["W"], abs=1e-6)
    assert len(res["refit"]["per_bit"]) == 10
    assert sum(res["geometry"]["10"]["learnt_hist"]) == 100
    assert -1 <= res["codebook_entries"]["spearman_abs_C_vs_error"] <= 1
    _, p1, p2 = plan.headline(ctx.profile, 0)  # the file names the models it measured
    assert res["checkpoints"] == {"phase1": p1.name, "phase2": p2.name}


def test_seed_error_bars_come_only_from_a_seed_study_of_these_checkpoints():
    from llc_lib.studies.accuracy import seed_spread

    res = {
        "bits": [14],
        "real_top1": 0.6,
        "methods": {"llc": {"14": {"mhd_acc": 0.5, "ed_acc": 0.2}}},
        "llc_class_code_acc": {"14": 0.55},
    }
    ours = {"real_top1": ["real-a"], "llc_class_code_acc": ["llc-b"], "llc_mhd_acc": ["llc-b", "instance-c"]}
    study = {
        "seeds": [0, 1],
        "checkpoints": {"0": ["real-a", "llc-b", "instance-c", "instance-svd-d"], "1": ["real-e"]},
        "numbers": {
            "real_top1": {"values": [0.6, 0.61], "std": 0.007},
            "llc_class_code_acc@14": {"values": [0.55, 0.56], "std": 0.007},
            "llc_mhd_acc@14": {"values": [0.5, 0.52], "std": 0.014},
        },
    }
    assert seed_spread(study, res, 0, ours) == {
        "seeds": [0, 1],
        "why": "",
        "sd": {"real_top1": 0.007, "llc_class_code_acc@14": 0.007, "llc_mhd_acc@14": 0.014},
    }
    new = dict(ours, llc_mhd_acc=["llc-b", "instance-new"])  # another Phase 2: no bars on its numbers
    stale = seed_spread(study, res, 0, new)
    assert stale["sd"] == {"real_top1": 0.007, "llc_class_code_acc@14": 0.007} and "instance-new" in stale["why"]
    assert seed_spread(study, res, 2, ours)["sd"] == {}  # the seed is not in the study
    assert seed_spread(None, res, 0, ours)["sd"] == {}


def test_every_seed_study_number_names_the_checkpoints_it_comes_from():
    """Each number of the committed cpu seed study has its checkpoints in ``number_checkpoints`` (else a seed study
    could never judge it), and only the instance-code numbers depend on Phase 2."""
    import json

    from llc_lib.config.profiles import get_profile
    from llc_lib.graph import plan
    from llc_lib.studies.headline import number_checkpoints

    p = get_profile("cpu")
    src = number_checkpoints(p, 0)
    committed = json.loads((Path(__file__).resolve().parents[1] / "figures" / "seeds.json").read_text())
    assert {n.split("@")[0] for n in committed["numbers"]} <= set(src)
    real, phase1, phase2 = plan.headline(p, 0)
    for name, needs in src.items():
        assert (phase2.name in needs) == (
            name.startswith("llc_")
            and name.split("llc_")[1]
            in (
                "mhd_acc",
                "ed_acc",
                "ed_no_match_rate",
                "bits_right",
                "bits_right_if_class_code_right",
                "bits_right_if_class_code_wrong",
                "p_exact_given_class_code_right",
                "p_exact_given_phase2_class_right",
                "phase2_class_acc",
                "ed_over_class_code_acc",
            )
        ), name
    assert src["llc_class_code_acc"] == [phase1.name] and src["taxonomy_ari_svd"] == [real.name]


def test_class_similarities_use_no_blas_so_every_host_gives_the_same_last_digit():
    """BLAS sums a dot product in a kernel-dependent order; products and numpy's pairwise sums do not. Pinned
    bit for bit to the elementwise formula (matmul differs from it in the last digit on these inputs), and equal
    to the textbook definitions to 1e-12."""
    from llc_lib.studies.codes import cosine_similarity, similarity_agreement

    w = np.random.default_rng(3).normal(size=(30, 77))
    n = w / np.sqrt((w * w).sum(1, keepdims=True))
    sim = cosine_similarity(w)
    assert np.array_equal(sim, (n[:, None, :] * n[None, :, :]).sum(-1))
    assert np.allclose(sim, n @ n.T, rtol=0, atol=1e-12)
    other = cosine_similarity(w[:, ::-1] ** 2)
    off = ~np.eye(30, dtype=bool)
    assert abs(similarity_agreement(sim, other) - np.corrcoef(sim[off], other[off])[0, 1]) < 1e-12


def test_p_exact_is_conditioned_on_the_class_decision_of_each_network(ctx, monkeypatch):
    """With Phase 1 always right and Phase 2's own head always wrong, P(exact | Phase 2 right) has no images
    (NaN) while P(exact | Phase 1 right) is the exact fraction over all images; swapped, the other way round."""
    from llc_lib.engine.inference import class_codes, outputs
    from llc_lib.studies import evaluation

    seen = ctx.ws.store.get(plan.train_eval_data(ctx.profile, 0), "train")
    _, p1, p2 = plan.headline(ctx.profile, 0)
    llc, inst, y = ctx.fit(p1), ctx.fit(p2), seen.labels.numpy()
    proj, codes = outputs(inst, seen, ctx.ws.device)["proj"], class_codes(llc)
    c = codes.shape[0]

    def decide(right_model):  # one-hot logits: the true class for right_model, the next class for the other
        return lambda model, p, k: np.eye(c)[y if model is right_model else (y + 1) % c]

    k = ctx.profile.bits[0]
    exact = ((proj[:, :k] > 0) == (codes[y, :k] > 0)).all(1).mean()
    monkeypatch.setattr(evaluation, "head_logits", decide(llc))
    r = evaluation.evaluate_llc(llc, inst, seen, ctx.ws.device, (k,))[k]
    assert np.isnan(r["p_exact_given_phase2_class_right"]) and r["phase2_class_acc"] == 0
    assert r["p_exact_given_class_code_right"] == exact
    monkeypatch.setattr(evaluation, "head_logits", decide(inst))
    r = evaluation.evaluate_llc(llc, inst, seen, ctx.ws.device, (k,))[k]
    assert r["p_exact_given_phase2_class_right"] == exact and np.isnan(r["p_exact_given_class_code_right"])

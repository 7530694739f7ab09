"""End-to-end smoke run on the real CIFAR-100 file (tiny stratified subset, 2 epochs)."""
import json
import os
from pathlib import Path

import pytest

from conftest import real_data_or_skip
from llc_lib import pipeline as P
from llc_lib.config import get_profile, resolve_profile


def test_profiles_resolve(monkeypatch):
    monkeypatch.setenv("LLC_PROFILE", "smoke")
    assert resolve_profile("auto") == "smoke"
    assert get_profile("cpu").max_bits == 64 and get_profile("cpu").table_bits == 14
    assert set(get_profile("cpu").retrieval_bits) <= set(get_profile("cpu").sweep)
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        get_profile("fast")


def test_smoke_reproduction_on_real_data():
    real_data_or_skip()
    res = P.reproduce("smoke", seed=0, device="cpu")
    path = P.run_dir(get_profile("smoke")) / "results.json"
    assert json.loads(path.read_text())["llc"] == json.loads(json.dumps(res["llc"]))
    assert res["train_images"] == 2000 and res["test_images"] == 1000 and res["num_classes"] == 100
    assert 0.0 <= res["real_top1"] <= 1.0
    for k, row in res["llc"].items():
        assert set(row) >= {"class_code_acc", "mhd_acc", "ed_acc", "ed_no_match_rate", "unique_codes", "bits_right"}
        assert 0 <= row["ed_acc"] <= row["ed_acc_official"] + 1e-9 <= 1 + 1e-9
        assert 0 <= row["bits_right"] <= int(k)
        assert 1 <= row["unique_codes"] <= 100
    _compare_with_golden(res)
    # second run: every model comes from its checkpoint, so no training and identical numbers
    again = P.reproduce("smoke", seed=0, device="cpu")
    assert again["llc"] == res["llc"] and again["real_top1"] == res["real_top1"]
    assert again["seconds"]["real"] + again["seconds"]["llc_phase1"] + again["seconds"]["llc_phase2"] < \
        res["seconds"]["real"] + res["seconds"]["llc_phase1"] + res["seconds"]["llc_phase2"]


GOLDEN = Path(__file__).resolve().parent / "golden" / "smoke_results.json"
# Same seed on the same CPU and torch build reproduces the numbers exactly; the tolerance absorbs the float
# differences of other CPUs / BLAS builds, which change a few of the 1,000 smoke test predictions.
TOL_ACC, TOL_BITS, TOL_UNIQUE = 0.03, 1.0, 8


def _compare_with_golden(res):
    if os.environ.get("LLC_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps({"real_top1": res["real_top1"], "llc": res["llc"]}, indent=1, sort_keys=True))
    gold = json.loads(GOLDEN.read_text())
    assert abs(res["real_top1"] - gold["real_top1"]) <= TOL_ACC
    for k, row in gold["llc"].items():
        for key, want in row.items():
            got = res["llc"][k][key]
            tol = TOL_BITS if key == "bits_right" else TOL_UNIQUE if key in ("unique_codes", "bits") else TOL_ACC
            assert abs(got - want) <= tol, f"k={k} {key}: {got} vs golden {want} (tolerance {tol})"


def test_cli_reports_bad_input_with_one_line(capsys, tmp_path, monkeypatch):
    from llc_lib.__main__ import main

    assert main(["reproduce", "--profile", "bogus"]) == 2
    assert "unknown profile 'bogus'" in capsys.readouterr().err
    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path))  # empty folder: no dataset
    assert main(["train", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "cifar100.npz is missing" in err and "make data" in err


def test_profile_overrides_and_paper_profiles():
    from llc_lib.config import override

    p = get_profile("imagenet")
    assert p.backbone == "resnet50" and p.sweep == (20,) and not p.scaled_head and p.aux_weight == 0
    assert p.llc.lr == 0.1 and p.llc.momentum == 0.875 and p.llc.weight_decay == 2 ** -15 and p.llc.epochs == 100
    assert p.instance.lr == 0.01 and p.instance.epochs == 25 and p.llc.schedule == "cosine"
    q = override(p, epochs=2, batch_size=512, max_steps=3, subset=5, image_size=64, workers=0)
    assert q.llc.epochs == 2 and q.instance.epochs == 1 and q.llc.lr == pytest.approx(0.2)
    assert q.llc.max_steps_per_epoch == 3 and q.per_class == q.test_per_class == 5 and q.image_size == 64
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        override(p, epochs=0)


def test_cli_paper_profile_without_data_says_where_to_put_it(capsys, tmp_path, monkeypatch):
    from llc_lib.__main__ import main

    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path))  # restored after the test (the CLI sets it too)
    assert main(["train", "--profile", "imagenet", "--what", "llc", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "imagenet/train is missing" in err and "ImageFolder layout" in err


def test_summarize_seeds_by_hand():
    def row(acc, unique):
        return {"class_code_acc": acc, "mhd_acc": acc / 2, "ed_acc": 0.1, "ed_no_match_rate": 0.5,
                "unique_codes": unique, "bits_right": 3.0}

    runs = {2: {"profile": "x", "real_top1": 0.5, "llc": {"7": row(0.2, 90)}},
            0: {"profile": "x", "real_top1": 0.7, "llc": {"7": row(0.4, 100)}}}
    s = P.summarize_seeds(runs)
    assert s["seeds"] == [0, 2] and s["real_top1"]["values"] == [0.7, 0.5]
    assert s["real_top1"]["mean"] == pytest.approx(0.6) and s["real_top1"]["std"] == pytest.approx(0.02 ** 0.5)
    assert s["llc"]["7"]["unique_codes"]["std"] == pytest.approx(50 ** 0.5)  # sample std of (100, 90)
    assert s["llc"]["7"]["ed_acc"]["std"] == 0.0
    one = P.summarize_seeds({0: runs[0]})
    assert one["real_top1"]["std"] == 0.0 and one["llc"]["7"]["mhd_acc"]["mean"] == 0.2
    table = P.format_seed_table(s)
    assert "60.00 ± 14.14" in table and "| 7 | 30.00 ± 14.14 | 15.00 ± 7.07 |" in table
    from llc_lib.report import paper_vs_reproduction
    md, _ = paper_vs_reproduction({"headline_seeds": s})
    assert "## Spread over seeds" in md and "real-valued top-1 60.00 ± 14.14; LLC MHD 7 bits 15.00 ± 7.07" in md
    assert "Spread over seeds" not in paper_vs_reproduction({})[0]


def test_seed_study_trains_each_seed_and_keeps_each_result(monkeypatch):
    """Two seeds of a cut-down smoke profile: separate checkpoints and results files, summary = the runs."""
    real_data_or_skip()
    from llc_lib import experiments as E
    from llc_lib.config import override

    prof = override(get_profile("smoke"), epochs=1, max_steps=2)
    tr, te = P.load_data(prof, 0)
    ctx = P.Context(prof, 0, P.pick_device("cpu"), Path(os.environ["LLC_RUNS_DIR"]) / "fig", tr, te)
    with pytest.raises(ValueError, match="seeds must be"):
        E.seed_study(ctx, seeds=[0, -1])
    s = E.seed_study(ctx, seeds=[0, 1])
    assert s["seeds"] == [0, 1] and set(s["runs"]) == {"0", "1"}
    files = {seed: json.loads(P.results_path(prof, seed).read_text()) for seed in (0, 1)}
    assert P.results_path(prof, 0).name == "results.json" and P.results_path(prof, 1).name == "results_s1.json"
    assert files[0]["seed"] == 0 and files[1]["seed"] == 1
    ckpts = sorted(p.name for p in (P.run_dir(prof) / "ckpt").glob("*.pt"))
    assert any(n.endswith("_s0.pt") for n in ckpts) and any(n.endswith("_s1.pt") for n in ckpts)
    for k, row in s["llc"].items():
        for m, st in row.items():
            assert st["values"] == [files[0]["llc"][k][m], files[1]["llc"][k][m]]
    assert s["real_top1"]["values"] == [files[0]["real_top1"], files[1]["real_top1"]]
    assert files[0]["real_top1"] != files[1]["real_top1"] or files[0]["llc"] != files[1]["llc"]

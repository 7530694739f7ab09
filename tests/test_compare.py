"""Comparing a fresh run with the committed figures: bit-identical on the same machine, else within the seed spread."""
import json

from llc_lib.__main__ import main
from llc_lib.compare import MAX_SD, compare

SAME = {"cpu": "AuthenticAMD AMD EPYC family 26 model 2 stepping 1", "cpu_capability": "AVX512", "threads": 2,
        "torch": "2.14.1"}


def _write(folder, real_top1, ed20, provenance, extra=None):
    folder.mkdir(parents=True, exist_ok=True)
    head = {"real_top1": real_top1, "llc": {"20": {"ed_acc": ed20}}, "seconds": {"real": 100.0},
            "run": {"provenance": provenance}}
    (folder / "headline_results.json").write_text(json.dumps(head))
    (folder / "07_ood.json").write_text(json.dumps(extra or {"auroc": 0.7}))
    seeds = {"numbers": {"real_top1": {"std": 0.002}, "llc_ed_acc@20": {"std": 0.01}}}
    (folder / "seeds.json").write_text(json.dumps(seeds))


def test_same_machine_must_be_bit_identical(tmp_path):
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    _write(tmp_path / "new", 0.6345, 0.11, SAME)
    res = compare(tmp_path / "new", tmp_path / "ref")
    assert res["machine"] is True and res["ok"] and all(rows == [] for rows in res["files"].values())
    _write(tmp_path / "new", 0.6346, 0.11, {**SAME, "cpu": SAME["cpu"]})  # one number moved by 1e-4
    res = compare(tmp_path / "new", tmp_path / "ref")
    assert not res["ok"] and res["faults"] == ["headline_results.json:real_top1"]


def test_another_machine_is_judged_against_the_seed_spread(tmp_path):
    other = {**SAME, "cpu": "GenuineIntel Xeon family 6 model 85 stepping 7", "cpu_capability": "AVX2"}
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    _write(tmp_path / "new", 0.6345 - 0.002 * 1.5, 0.11 + 0.01 * 2, other)
    res = compare(tmp_path / "new", tmp_path / "ref")
    assert res["machine"] is False and res["ok"]
    rows = {r["path"]: r for r in res["files"]["headline_results.json"]}
    assert abs(rows["real_top1"]["sd"] + 1.5) < 1e-9 and abs(rows["llc.20.ed_acc"]["sd"] - 2) < 1e-9
    _write(tmp_path / "new", 0.6345 - 0.002 * (MAX_SD + 0.5), 0.11, other)
    assert compare(tmp_path / "new", tmp_path / "ref")["faults"] == ["headline_results.json:real_top1"]
    _write(tmp_path / "new", 0.6345, 0.11, other, extra={"auroc": 0.71})  # no spread measured: cannot be judged
    assert compare(tmp_path / "new", tmp_path / "ref")["faults"] == ["07_ood.json:auroc"]


def test_cli_compare_names_the_verdict_and_fails_on_a_fault(tmp_path, monkeypatch, capsys):
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    _write(tmp_path / "new", 0.6340, 0.11, SAME)
    monkeypatch.setenv("LLC_FIGURES_DIR", str(tmp_path / "new"))
    assert main(["compare", "--profile", "smoke", "--reference", str(tmp_path / "ref")]) == 1
    out = capsys.readouterr().out
    assert "must be bit-identical" in out and "real_top1: 0.6345 -> 0.634" in out and "1 fault(s)" in out


def test_nothing_to_compare_is_an_error_not_a_pass(tmp_path, monkeypatch, capsys):
    (tmp_path / "new").mkdir()
    monkeypatch.setenv("LLC_FIGURES_DIR", str(tmp_path / "new"))
    assert main(["compare", "--profile", "smoke", "--reference", str(tmp_path)]) == 2
    assert "nothing to compare" in capsys.readouterr().err

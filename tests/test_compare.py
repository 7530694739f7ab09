"""Comparing a fresh run with the committed figures: bit-identical on the same machine, else within the seed spread
or float rounding; NaNs, missing files, changed verdicts and unreadable files are faults. And what makes a
re-run comparable with git: results files hold nothing host-dependent, the machine goes into provenance.json."""

import json
import subprocess
import threading
import time

import pytest
import torch

from llc_lib.__main__ import main
from llc_lib.results.compare import MAX_SD, ROUNDING, Committed, compare
from llc_lib.results.compare import leaves as leaf_values

from conftest import synthetic_dataset

SAME = {
    "cpu": "AuthenticAMD AMD EPYC family 26 model 2 stepping 1",
    "cpu_capability": "AVX512",
    "threads": 2,
    "torch": "2.14.1",
}
OTHER = {**SAME, "cpu": "GenuineIntel Xeon family 6 model 85 stepping 7", "cpu_capability": "AVX2"}


def _write(folder, real_top1, ed20, provenance, extra=None):
    """A figures folder: the headline and one notebook's JSON, seeds.json and, unless ``provenance`` is None,
    provenance.json naming the machine of both results files."""
    folder.mkdir(parents=True, exist_ok=True)
    head = {
        "real_top1": real_top1,
        "llc": {"20": {"ed_acc": ed20}},
        "seconds": {"real": 100.0},
        "run": {"profile": "cpu", "overrides": []},
    }
    (folder / "headline_results.json").write_text(json.dumps(head))
    (folder / "07_ood.json").write_text(json.dumps(extra or {"auroc": 0.7}))
    seeds = {"numbers": {"real_top1": {"std": 0.002}, "llc_ed_acc@20": {"std": 0.01}}}
    (folder / "seeds.json").write_text(json.dumps(seeds))
    if provenance is not None:
        table = {n: provenance for n in ("07_ood.json", "headline_results.json")}
        (folder / "provenance.json").write_text(json.dumps(table))
    else:
        (folder / "provenance.json").unlink(missing_ok=True)


def test_same_machine_must_be_bit_identical(tmp_path):
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    _write(tmp_path / "new", 0.6345, 0.11, SAME)
    res = compare(tmp_path / "new", tmp_path / "ref")
    assert set(res["machine"].values()) == {True} and res["ok"] and all(rows == [] for rows in res["files"].values())
    _write(tmp_path / "new", 0.6346, 0.11, {**SAME, "cpu": SAME["cpu"]})  # one number moved by 1e-4
    res = compare(tmp_path / "new", tmp_path / "ref")
    assert not res["ok"] and res["faults"] == ["headline_results.json:real_top1"]


def test_another_machine_is_judged_against_the_seed_spread(tmp_path):
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    _write(tmp_path / "new", 0.6345 - 0.002 * 1.5, 0.11 + 0.01 * 2, OTHER)
    res = compare(tmp_path / "new", tmp_path / "ref")
    assert set(res["machine"].values()) == {False} and res["ok"]
    rows = {r["path"]: r for r in res["files"]["headline_results.json"]}
    assert abs(rows["real_top1"]["sd"] + 1.5) < 1e-9 and abs(rows["llc.20.ed_acc"]["sd"] - 2) < 1e-9
    _write(tmp_path / "new", 0.6345 - 0.002 * (MAX_SD + 0.5), 0.11, OTHER)
    assert compare(tmp_path / "new", tmp_path / "ref")["faults"] == ["headline_results.json:real_top1"]
    _write(tmp_path / "new", 0.6345, 0.11, OTHER, extra={"auroc": 0.71})  # no spread measured: cannot be judged
    assert compare(tmp_path / "new", tmp_path / "ref")["faults"] == ["07_ood.json:auroc"]


def test_the_machine_is_read_per_file_and_from_the_run_record_without_a_provenance_file(tmp_path):
    """A reference without provenance.json: the machine of its files' own run.provenance, else unknown."""
    _write(tmp_path / "ref", 0.6345, 0.11, None)
    _write(tmp_path / "new", 0.6345, 0.11, SAME)
    assert compare(tmp_path / "new", tmp_path / "ref")["machine"] == {
        "07_ood.json": None,
        "headline_results.json": None,
    }
    head = json.loads((tmp_path / "ref" / "headline_results.json").read_text())
    head["run"]["provenance"] = SAME
    (tmp_path / "ref" / "headline_results.json").write_text(json.dumps(head))
    assert compare(tmp_path / "new", tmp_path / "ref")["machine"] == {
        "07_ood.json": None,
        "headline_results.json": True,
    }


def test_a_nan_or_infinity_is_a_fault_even_within_a_measured_spread(tmp_path):
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    for bad in (float("nan"), float("inf")):
        _write(tmp_path / "new", bad, 0.11, OTHER)  # real_top1 has a measured spread
        res = compare(tmp_path / "new", tmp_path / "ref")
        assert not res["ok"] and res["faults"] == ["headline_results.json:real_top1"]
    _write(tmp_path / "ref", float("nan"), 0.11, SAME)
    _write(tmp_path / "new", float("nan"), 0.11, SAME)  # NaN on both sides is the same value
    assert compare(tmp_path / "new", tmp_path / "ref")["ok"]
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)  # a NaN spread judges nothing
    (tmp_path / "ref" / "seeds.json").write_text(json.dumps({"numbers": {"real_top1": {"std": float("nan")}}}))
    _write(tmp_path / "new", 0.6346, 0.11, OTHER)
    (tmp_path / "new" / "seeds.json").unlink()
    assert compare(tmp_path / "new", tmp_path / "ref")["faults"] == ["headline_results.json:real_top1"]


def test_a_results_file_missing_from_the_fresh_folder_is_a_fault(tmp_path, monkeypatch, capsys):
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    _write(tmp_path / "new", 0.6345, 0.11, SAME)
    (tmp_path / "new" / "07_ood.json").unlink()
    res = compare(tmp_path / "new", tmp_path / "ref")
    assert not res["ok"] and res["absent"] == ["07_ood.json"]
    monkeypatch.setenv("LLC_FIGURES_DIR", str(tmp_path / "new"))
    assert main(["compare", "--profile", "smoke", "--reference", str(tmp_path / "ref")]) == 1
    assert "missing from the fresh folder: 07_ood.json" in capsys.readouterr().out
    (tmp_path / "new" / "seeds.json").unlink()  # the spread and the machines are not results
    (tmp_path / "new" / "provenance.json").unlink()
    (tmp_path / "ref" / "07_ood.json").unlink()
    assert compare(tmp_path / "new", tmp_path / "ref")["ok"]


def test_the_committed_reference_lists_its_files_from_git(tmp_path):
    repo = tmp_path / "repo"
    _write(repo / "figures", 0.6345, 0.11, SAME)
    (repo / "figures" / "notes.md").write_text("not results")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "figures"], check=True)
    ref = Committed(repo, repo / "figures")
    assert ref.names() == ["07_ood.json", "headline_results.json", "provenance.json", "seeds.json"]
    assert compare(repo / "figures", ref)["ok"]
    (repo / "figures" / "07_ood.json").unlink()
    res = compare(repo / "figures", ref)
    assert res["absent"] == ["07_ood.json"] and res["faults"] == ["07_ood.json: missing from the fresh folder"]


def test_a_changed_boolean_string_or_null_is_a_fault_on_any_machine(tmp_path):
    base = {"auroc": 0.7, "holds": True, "summary": "LLC wins", "paper": None, "bits": [8, 16]}
    _write(tmp_path / "ref", 0.6345, 0.11, SAME, extra=base)
    for machine in (SAME, OTHER, None):
        for change in ({"holds": False}, {"summary": "LLC loses"}, {"paper": 0}, {"holds": 1}):
            _write(tmp_path / "new", 0.6345, 0.11, machine, extra={**base, **change})
            (key,) = change
            assert compare(tmp_path / "new", tmp_path / "ref")["faults"] == [f"07_ood.json:{key}"], (machine, change)
        for fewer in ({k: v for k, v in base.items() if k != "summary"}, {**base, "bits": [8]}):
            _write(tmp_path / "new", 0.6345, 0.11, machine, extra=fewer)
            assert not compare(tmp_path / "new", tmp_path / "ref")["ok"]
    _write(tmp_path / "new", 0.6345, 0.11, SAME, extra={**base, "bits": [8.0, 16.0]})  # 8 == 8.0: the same number
    assert compare(tmp_path / "new", tmp_path / "ref")["ok"]
    assert leaf_values({"a": [True, "x", None]}) == {("a", "0"): True, ("a", "1"): "x", ("a", "2"): None}


def test_a_fresh_file_that_is_not_json_is_a_fault_that_names_it(tmp_path, monkeypatch, capsys):
    _write(tmp_path / "ref", 0.6345, 0.11, SAME)
    _write(tmp_path / "new", 0.6345, 0.11, SAME)
    (tmp_path / "new" / "07_ood.json").write_text('{"auroc": 0.7')  # cut off
    monkeypatch.setenv("LLC_FIGURES_DIR", str(tmp_path / "new"))
    assert main(["compare", "--profile", "smoke", "--reference", str(tmp_path / "ref")]) == 1
    out = capsys.readouterr().out
    assert "07_ood.json: unreadable:" in out and f"{tmp_path / 'new' / '07_ood.json'} is not JSON" in out
    assert "headline_results.json: bit-identical" in out


def test_a_last_digit_difference_is_rounding_across_machines_and_a_fault_on_the_same_one(tmp_path):
    """06_retrieval.json's HashNet 64-bit tie-aware MAP, made on an AVX2 host and re-made on an AVX-512 one
    (numpy's exp differs in the last bit there), has no seed spread: within ROUNDING it is not a fault across
    machines; on the same machine any difference is."""

    def retrieval(v):
        return {"methods": {"HashNet": {"64": {"map_tie_aware": v}}}}

    _write(tmp_path / "ref", 0.6345, 0.11, SAME, extra=retrieval(0.3184958033973684))
    for machine, ok in ((OTHER, True), (None, True), (SAME, False)):
        _write(tmp_path / "new", 0.6345, 0.11, machine, extra=retrieval(0.3184958033973683))
        res = compare(tmp_path / "new", tmp_path / "ref")
        assert res["ok"] is ok and (ok or res["faults"] == ["07_ood.json:methods.HashNet.64.map_tie_aware"])
        (row,) = res["files"]["07_ood.json"]
        assert row["rounding"] and row["sd"] is None
    for factor in (1 + 2 * ROUNDING, 1 - 2 * ROUNDING, 1 + 1e-8):  # beyond rounding, and no spread: a fault
        _write(tmp_path / "new", 0.6345, 0.11, OTHER, extra=retrieval(0.3184958033973684 * factor))
        assert not compare(tmp_path / "new", tmp_path / "ref")["ok"]
    _write(tmp_path / "new", 0.6345 * (1 + ROUNDING / 2), 0.11, OTHER, extra=retrieval(0.3184958033973684))
    assert compare(tmp_path / "new", tmp_path / "ref")["ok"]


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


# ------------------------------------------------------------------ what a re-run writes

HOST_KEYS = {
    "cpu",
    "cpu_capability",
    "machine",
    "threads",
    "torch",
    "device",
    "gpu",
    "provenance",
    "evaluate",
    "this_call",
    "fit_or_load",
}


def _host_dependent(obj) -> list[str]:
    return [".".join(p) for p in leaf_values(obj) if HOST_KEYS & set(p)]


def test_a_published_results_file_holds_nothing_host_dependent(tmp_path):
    from llc_lib.config.profiles import get_profile
    from llc_lib.engine.device import provenance
    from llc_lib.studies import Context

    ctx = Context(get_profile("smoke"), None, tmp_path / "fig")
    ctx.figdir.mkdir()
    ctx.save_json({"x": 1, "_array": [1, 2]}, "a")
    ctx.publish()
    res = json.loads((tmp_path / "fig" / "a.json").read_text())
    assert res == {"x": 1, "run": {"profile": "smoke", "overrides": [], "data_sha256": {}}}
    assert json.loads((tmp_path / "fig" / "provenance.json").read_text()) == {"a.json": provenance(None)}


def test_recording_the_same_machine_again_leaves_the_provenance_file_untouched(tmp_path):
    from llc_lib.studies import record_provenance

    assert record_provenance(tmp_path, ["a.json", "b.json"])
    path = tmp_path / "provenance.json"
    before, stat = path.read_bytes(), path.stat()
    assert not record_provenance(tmp_path, ["b.json"])
    assert path.read_bytes() == before and path.stat().st_ino == stat.st_ino  # not even replaced
    assert record_provenance(tmp_path, ["c.json"]) and set(json.loads(path.read_text())) == {
        "a.json",
        "b.json",
        "c.json",
    }
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="provenance.json is not a JSON object"):
        record_provenance(tmp_path, ["a.json"])


def test_notebooks_publishing_at_once_keep_each_other_s_provenance(tmp_path, monkeypatch):
    """Each writer is slowed between reading and writing the file: without the lock all but one entry is lost."""
    from llc_lib import studies

    write = studies.write_json
    monkeypatch.setattr(studies, "write_json", lambda obj, path: (time.sleep(0.05), write(obj, path)))
    names = [f"{i:02d}.json" for i in range(8)]
    threads = [threading.Thread(target=studies.record_provenance, args=(tmp_path, [n])) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(json.loads((tmp_path / "provenance.json").read_text())) == names


def test_two_runs_on_the_same_host_write_byte_identical_results(tmp_path):
    """The headline (trained, then loaded) written twice: the same bytes, and its per-call timings printed only."""
    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile
    from llc_lib.graph.workspace import Workspace
    from llc_lib.studies import Context
    from llc_lib.studies.headline import reproduce, results_path

    prof = apply_sets(get_profile("smoke"), ["epochs=1", "max_steps=1"])
    snapshots = []
    for _ in range(2):
        ws = Workspace(tmp_path / "runs", torch.device("cpu"), progress=False)
        ws.store.preload(("cifar100", "train"), synthetic_dataset(24, 100, seed=1))
        ws.store.preload(("cifar100", "test"), synthetic_dataset(10, 100, seed=2))
        ctx = Context(prof, ws, tmp_path / "fig")
        res = reproduce(ctx, 0)
        assert set(res["_call_seconds"]) == {"fit_or_load", "evaluate", "this_call"}
        folder = results_path(ctx, 0).parent
        snapshots.append({p.name: p.read_bytes() for p in folder.glob("*.json")})
    assert set(snapshots[0]) == {"headline_results.json", "provenance.json"} and snapshots[0] == snapshots[1]
    written = json.loads(snapshots[0]["headline_results.json"])
    assert not _host_dependent(written) and set(written["seconds"]) == {"real", "llc_phase1", "llc_phase2"}


def test_the_report_reads_the_notebooks_results_not_the_machines(tmp_path):
    """results.json embeds every notebook's JSON: the provenance file is not one, or a re-run on another host
    would change results.json too."""
    from llc_lib.results.report import load_results
    from llc_lib.studies import record_provenance

    (tmp_path / "07_ood.json").write_text(json.dumps({"auroc": 0.7}))
    record_provenance(tmp_path, ["07_ood.json"])
    assert load_results(tmp_path) == {"07_ood": {"auroc": 0.7}}

"""docs/measurements/: one ledger (ledger.json) of every measurement, its index (README.md) rendered from it by
llc_lib/results/ledger.py, and one runner (logs/run.py) that prints again every log that was printed from committed
files."""

import importlib.util
import json
import shutil
import subprocess

import pytest

from llc_lib.results import ledger

from conftest import REPO

MEAS = REPO / "docs" / "measurements"


def _runner():
    spec = importlib.util.spec_from_file_location("measurements_run", MEAS / "logs" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    return run


def _git_has(rev_path: str) -> bool:
    """Whether ``git show REV:PATH`` works here (not in a shallow clone that lacks the commit)."""
    r = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", rev_path], capture_output=True)
    return r.returncode == 0


def _copy_repo(tmp_path):
    """docs/measurements/ and every other file the ledger names, copied into ``tmp_path``."""
    shutil.copytree(MEAS, tmp_path / "docs" / "measurements", ignore=shutil.ignore_patterns("__pycache__"))
    for e in ledger.load(REPO):
        for path in [e["note"], *e["results"], *e["scripts"]]:
            if (REPO / path).is_file() and not (tmp_path / path).exists():
                (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / path, tmp_path / path)
    return tmp_path


def test_the_ledger_keeps_its_rule():
    assert ledger.problems(REPO) == []


def test_every_note_has_exactly_one_current_entry():
    entries = ledger.load(REPO)
    notes = sorted(p.relative_to(REPO).as_posix() for p in MEAS.glob("*.md") if p.name != "README.md")
    current = [e["note"] for e in entries if e["status"] == "current"]
    assert notes, "no notes found"
    assert {n: current.count(n) for n in notes} == {n: 1 for n in notes}


def test_every_file_an_entry_names_exists_and_superseded_by_names_an_entry():
    entries = ledger.load(REPO)
    ids = {e["id"] for e in entries}
    assert len(ids) == len(entries)
    for e in entries:
        for path in [*e["results"], *e["scripts"]] + ([] if e["read_at"] else [e["note"]]):
            assert (REPO / path).is_file(), f"{e['id']}: {path}"
        assert (e["superseded_by"] in ids) if e["status"] == "superseded" else e["superseded_by"] is None, e["id"]


def test_every_file_of_the_folder_is_in_the_ledger():
    """A results file, log or script nobody names is an orphan: name it in an entry or remove it."""
    named = {"docs/measurements/ledger.json", "docs/measurements/README.md", "docs/measurements/logs/run.py"}
    for e in ledger.load(REPO):
        named |= {e["note"], *e["results"], *e["scripts"]}
    files = {p.relative_to(REPO).as_posix() for p in MEAS.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files - named == set()


def test_a_removed_note_can_be_read_at_its_commit():
    removed = [e for e in ledger.load(REPO) if e["read_at"]]
    assert removed
    for e in removed:
        assert not (REPO / e["note"]).exists(), e["id"]
        if not _git_has(f"{e['read_at']}^{{commit}}"):
            pytest.skip(f"commit {e['read_at']} is not in this clone")
        assert _git_has(f"{e['read_at']}:{e['note']}"), f"git show {e['read_at']}:{e['note']}"


def test_the_committed_index_is_the_rendering_of_the_ledger():
    assert (MEAS / "README.md").read_text() == ledger.index_page(ledger.load(REPO)), "run `make docs`"


def test_rendering_the_index_is_idempotent(tmp_path):
    """write_index on a copy gives the committed index back byte for byte, twice."""
    repo = _copy_repo(tmp_path)
    (repo / "docs" / "measurements" / "README.md").write_text("stale")
    for _ in range(2):
        assert ledger.write_index(repo) == repo / "docs" / "measurements" / "README.md"
        assert (repo / "docs" / "measurements" / "README.md").read_bytes() == (MEAS / "README.md").read_bytes()


@pytest.mark.parametrize(
    "break_it, problem",
    [
        (lambda m, es: (m / "new_note.md").write_text("# new"), "new_note.md has 0 current entries"),
        (lambda m, es: es[0].update(superseded_by="nobody", status="superseded"), "no id of the ledger"),
        (lambda m, es: es.append(dict(es[0], id="twin")), "has 2 current entries"),
        (lambda m, es: (m / "logs" / "warm_start_control_2026-12-05.log").unlink(), "does not exist"),
        (lambda m, es: next(e for e in es if e["read_at"]).update(read_at=None), "a removed note needs read_at"),
        (lambda m, es: es[0].update(status="retired"), "status 'retired' is none of"),
        (lambda m, es: es[0].pop("host"), "missing or unknown"),
        (lambda m, es: es[0]["print"].append("no_such_log"), "no_such_log.log does not exist"),
    ],
)
def test_a_ledger_that_breaks_its_rule_is_not_rendered(tmp_path, break_it, problem):
    repo = _copy_repo(tmp_path)
    meas = repo / "docs" / "measurements"
    doc = json.loads((meas / "ledger.json").read_text())
    break_it(meas, doc["measurements"])
    (meas / "ledger.json").write_text(json.dumps(doc))
    assert any(problem in p for p in ledger.problems(repo)), ledger.problems(repo)
    before = (meas / "README.md").read_bytes()
    with pytest.raises(ValueError, match="breaks its rule"):
        ledger.write_index(repo)
    assert (meas / "README.md").read_bytes() == before


def test_make_docs_renders_the_index(tmp_path, monkeypatch, capsys):
    """`python -m llc_lib docs` renders the index after the results pages (here a stub) and says so."""
    import llc_lib.core.paths
    import llc_lib.results.pages
    from llc_lib.__main__ import main

    repo = _copy_repo(tmp_path)
    (repo / "docs" / "measurements" / "README.md").unlink()
    monkeypatch.setattr(llc_lib.core.paths, "REPO_ROOT", repo)
    monkeypatch.setattr(llc_lib.results.pages, "update_docs", lambda repo, figdir: [])
    assert main(["docs", "--profile", "cpu"]) == 0
    assert capsys.readouterr().out == f"wrote {repo / 'docs' / 'measurements' / 'README.md'}\n"
    assert (repo / "docs" / "measurements" / "README.md").read_bytes() == (MEAS / "README.md").read_bytes()


def test_the_runner_and_the_ledger_name_the_same_logs():
    prints = [p for e in ledger.load(REPO) for p in e["print"]]
    assert sorted(prints) == sorted(_runner().LOGS)


def test_the_runner_prints_every_named_log_as_committed():
    run = _runner()
    revs = {a.split(":")[0] for _, args in run.LOGS.values() for a in args if run.REV_PATH.fullmatch(a)}
    if not all(_git_has(f"{r}^{{commit}}") for r in revs):
        pytest.skip("a revision the logs read is not in this clone")
    assert run.check(sorted(run.LOGS)) == []
    assert run.main(["--check"]) == 0


def _variant_file(tmp_path, name, seed, bf16, ed14, epochs=15, images="v1"):
    """A one-row variants file of made-up numbers for the paired printer, scored on the validation images named
    ``images`` (their sha256 stand-in); ``bf16`` None: a recipe written before ``cpu_bf16`` existed."""
    nums = {m: 0.5 for m in _runner().PAIRED_NUMBERS}
    split = {"14": {**nums, "ed_acc": ed14}, "20": dict(nums)}
    fields = {"seed": seed, "epochs": epochs} | ({} if bf16 is None else {"cpu_bf16": bf16})
    recipe = {m: dict(fields) for m in ("llc", "instance")}
    run = {"overrides": ["holdout=50"], "data_sha256": {f"cifar100/validation/seed={seed}": images}}
    path = tmp_path / f"{name}_{seed}_{ed14}_{images}.json"
    path.write_text(json.dumps({name: {"seed": seed, "recipe": recipe, "validation": split}, "run": run}))
    return f"{path}:{name}"


def test_paired_verdicts_judge_the_mean_change_and_refuse_pairs_of_another_kind(tmp_path, capsys):
    run = _runner()
    seeds = tmp_path / "seeds.json"
    seeds.write_text(
        json.dumps({"numbers": {f"llc_{m}@{k}": {"std": 0.01} for m in run.PAIRED_NUMBERS for k in (14, 20)}})
    )

    def ed14_verdict(*pairs):
        """The ED-at-14-bits line for pairs (seed, A's ED, B's ED), A in float32 with an older recipe file."""
        args = []
        for seed, ed_a, ed_b in pairs:
            args += [
                _variant_file(tmp_path, "fp32", seed, None, ed_a),
                _variant_file(tmp_path, "bf16", seed, True, ed_b),
            ]
        run.paired_verdicts([*args, "--seeds", str(seeds)])
        return next(line for line in capsys.readouterr().out.splitlines() if "| 14 | ed_acc |" in line)

    # one seed: the margin is two sds, a fall of 1.5 sd is within it, 2.5 sd is not
    assert ed14_verdict((0, 0.5, 0.485)).endswith("no cost |")
    assert ed14_verdict((0, 0.5, 0.475)).endswith("COSTS |")
    # two seeds: the mean change is judged, not each seed's
    assert "| -0.0300 | +0.0100 | -0.0100 |" in ed14_verdict((0, 0.5, 0.47), (1, 0.5, 0.51))
    assert ed14_verdict((0, 0.5, 0.47), (1, 0.5, 0.51)).endswith("no cost |")
    assert ed14_verdict((0, 0.5, 0.45), (1, 0.5, 0.505)).endswith("COSTS |")
    a = [_variant_file(tmp_path, "fp32", s, False, 0.5) for s in (0, 1)]
    b = [_variant_file(tmp_path, "bf16", s, True, 0.5) for s in (0, 1)]
    # a recipe file without cpu_bf16 is float32: it pairs with one that says False
    run.paired_verdicts([_variant_file(tmp_path, "fp32", 0, None, 0.5), b[0], a[1], b[1], "--seeds", str(seeds)])
    assert "changes instance.cpu_bf16, llc.cpu_bf16;" in capsys.readouterr().out
    for args, refusal in (
        ([a[0], b[1]], r"seeds \[\(0, 1\)\]"),
        ([a[0], b[0], a[0], b[0]], "one pair only"),
        ([a[0], b[0], a[1], a[1]], "the B rows of seeds"),
        ([a[0], b[0], _variant_file(tmp_path, "fp32-long", 1, False, 0.5, epochs=30), b[1]], "the A rows of seeds"),
        ([a[0], b[0], a[1], _variant_file(tmp_path, "bf16", 1, True, 0.5, images="v2")], "different images"),
        ([a[0], b[0], a[1]], "in pairs"),
    ):
        with pytest.raises(SystemExit, match=refusal):
            run.paired_verdicts([*args, "--seeds", str(seeds)])

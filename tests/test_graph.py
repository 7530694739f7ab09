"""The run graph: content keys, explicit codebook hand-off, no silent reuse, evaluation that never trains."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from llc_lib.config.overrides import apply_sets
from llc_lib.config.profiles import get_profile
from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.ckpt import CheckpointError, load_checkpoint, state_digest
from llc_lib.engine.codebook_file import save_codebook
from llc_lib.graph.selection import DataSel
from llc_lib.graph.spec import Arch, CodebookSpec, Spec
from llc_lib.graph.workspace import Workspace
from llc_lib.kernels.codebooks import binarize, random_codebook

from conftest import REPO, real_data_or_skip, synthetic_dataset

CPU = torch.device("cpu")
REAL = TrainConfig(mode="real", epochs=1, batch_size=16, lr=0.05)
LLC = TrainConfig(mode="llc", bits=6, nested=(3, 6), epochs=1, batch_size=16, lr=0.05)
SEL, ARCH = DataSel(), Arch(width=4)


def _ws(root, **kw) -> Workspace:
    ws = Workspace(root, CPU, progress=False, **kw)
    ws.store.preload((SEL, "train"), synthetic_dataset())  # the specs' training data, without reading CIFAR
    return ws


def _phase2(phase1: Spec) -> Spec:
    cfg = phase1.cfg.replace(mode="instance", nested=(), lr=0.01)
    return Spec(cfg, ARCH, SEL, "phase1", phase1, CodebookSpec("learnt", cfg.bits, phase1), label="instance")


def test_key_is_the_content_and_ignores_the_label():
    a = Spec(LLC, ARCH, SEL, label="x")
    assert a.key == Spec(LLC, ARCH, SEL, label="y").key
    assert a.key != Spec(LLC.replace(lr=0.06), ARCH, SEL).key  # recipe
    assert a.key != Spec(LLC, ARCH, DataSel(per_class=5)).key  # data subset
    assert a.key != Spec(LLC.replace(seed=1), ARCH, SEL).key  # seed
    assert _phase2(a).key != _phase2(Spec(LLC.replace(epochs=2), ARCH, SEL)).key  # parent
    assert _phase2(a).ancestors() == [a]


def test_keys_are_stable_and_a_new_knob_at_its_default_keeps_them():
    """Checkpoint names outlive code changes: the same content gives the same key as when keys were made, and a
    field added later with a default changes no key until it is set."""
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class WithKnob(TrainConfig):
        new_knob: float = 0.0

    a = Spec(LLC, ARCH, SEL)
    assert (a.key, _phase2(a).key) == ("2644597822e3", "ef8a9b67327c")  # the keys of the files on disk
    assert Spec(WithKnob(**dataclasses.asdict(LLC)), ARCH, SEL).key == a.key
    assert Spec(WithKnob(**dataclasses.asdict(LLC), new_knob=0.5), ARCH, SEL).key != a.key


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(init="svd"), "needs a parent"),
        (dict(init="phase1", parent=Spec(REAL, ARCH, SEL)), "starts from a model that learns a codebook"),
        (dict(init="backbone", parent=Spec(REAL, Arch(width=8), SEL)), "same backbone and width"),
        (dict(codebook=CodebookSpec("random", 6, num_classes=5)), "only such a method takes one"),
    ],
)
def test_inconsistent_specs_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        Spec(LLC, ARCH, SEL, **kw)


def test_fit_trains_once_then_loads_and_a_new_recipe_gets_a_new_file(tmp_path):
    ws = _ws(tmp_path)
    spec = Spec(LLC, ARCH, SEL, label="llc")
    model = ws.fit(spec)
    path = ws.ckpt_path(spec)
    assert path.exists() and load_checkpoint(path)["key"] == spec.key
    mtime = path.stat().st_mtime_ns
    again = _ws(tmp_path).fit(spec)  # a new process: loaded, not trained
    assert path.stat().st_mtime_ns == mtime
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), again.state_dict().values()))
    other = Spec(LLC.replace(lr=0.06), ARCH, SEL, label="llc")
    ws.fit(other)
    assert ws.ckpt_path(other) != path and ws.ckpt_path(other).exists() and path.stat().st_mtime_ns == mtime


def test_phase2_reads_the_phase1_codebook_file(tmp_path):
    ws = _ws(tmp_path)
    p1 = Spec(LLC, ARCH, SEL, label="llc")
    p2 = _phase2(p1)
    inst = ws.fit(p2)
    book = ws.codebook_path(p2.codebook)
    assert book.exists() and book.name.endswith(".codebook.npz")
    assert np.array_equal(binarize(inst.head.codebook), np.load(book)["codes"])
    assert np.array_equal(np.load(book)["codes"], binarize(ws.fit(p1).head.codebook))
    assert str(np.load(book)["source_sha256"]) == load_checkpoint(ws.ckpt_path(p1))["weights_sha256"]


def _edit_npz(path, **arrays):
    """Rewrite some arrays of an .npz in place, keeping the others (and the stored hash) as they are."""
    with np.load(path) as z:
        out = {k: z[k] for k in z.files}
    out.update(arrays)
    np.savez(path, **out)


def test_an_edited_codebook_file_is_refused_before_phase2_trains(tmp_path):
    ws = _ws(tmp_path)
    p1 = Spec(LLC, ARCH, SEL, label="llc")
    p2 = _phase2(p1)
    ws.fit(p1)
    book = ws.codebook_path(p2.codebook)
    with np.load(book) as z:
        reals = z["reals"].copy()
    reals[0, :3] *= -1  # flip three bits of class 0, codes and reals alike
    _edit_npz(book, codes=binarize(reals), reals=reals)
    with pytest.raises(ValueError, match="corrupt or was edited"):
        _ws(tmp_path).fit(p2)
    assert not ws.ckpt_path(p2).exists()


@pytest.mark.parametrize("claims_its_model", [False, True], ids=["from-other-weights", "claims-the-right-weights"])
def test_a_codebook_file_that_is_not_its_models_is_rebuilt_from_the_model(tmp_path, claims_its_model):
    ws = _ws(tmp_path)
    p2 = _phase2(Spec(LLC, ARCH, SEL, label="llc"))
    ws.fit(p2)
    book = ws.codebook_path(p2.codebook)
    good = np.load(book)["reals"].copy()
    source = str(np.load(book)["source_sha256"]) if claims_its_model else ""
    save_codebook(book, -good, source_sha256=source)  # a valid file, but not this Phase 1 model's codebook
    inst = _ws(tmp_path).fit(p2)
    assert np.array_equal(np.load(book)["reals"], good)
    assert np.array_equal(binarize(inst.head.codebook), binarize(good))


def _refit_with_other_weights(path, prefix="head."):
    """What re-fitting a spec on another machine or thread count does: a valid checkpoint, other weights
    (the floating-point head tensors shifted and scaled)."""
    ck = load_checkpoint(path)
    ck["model"] = {
        k: (v * 1.5 + 0.25 if k.startswith(prefix) and v.is_floating_point() else v) for k, v in ck["model"].items()
    }
    ck["weights_sha256"] = state_digest(ck["model"])
    torch.save(ck, path)


def test_phase2_of_a_refitted_phase1_is_refused_and_names_the_file(tmp_path):
    ws = _ws(tmp_path)
    p1 = Spec(LLC, ARCH, SEL, label="llc")
    p2 = _phase2(p1)
    ws.fit(p2)
    _refit_with_other_weights(ws.ckpt_path(p1))
    with pytest.raises(CheckpointError, match=f"re-fitted since; delete .*{ws.ckpt_path(p2).name}"):
        _ws(tmp_path).fit(p2)
    again = _ws(tmp_path)
    again.fit(p1)  # the codebook follows the Phase 1 checkpoint it came from
    assert str(np.load(ws.codebook_path(p2.codebook))["source_sha256"]) == again.weights_digest(p1)
    ws.ckpt_path(p2).unlink()
    _ws(tmp_path).fit(p2)  # trained again from the current Phase 1


def test_a_baseline_phase2_of_a_refitted_real_model_is_refused(tmp_path):
    ws = _ws(tmp_path)
    r = Spec(REAL, ARCH, SEL, label="real")
    p2 = Spec(
        LLC.replace(mode="instance", bits=4, nested=(), lr=0.01),
        ARCH,
        SEL,
        "codebook",
        r,
        CodebookSpec("svd", 4, r),
        label="instance-svd",
    )
    ws.fit(p2)
    _refit_with_other_weights(ws.ckpt_path(r))
    with pytest.raises(CheckpointError, match="re-fitted since"):
        _ws(tmp_path).fit(p2)


def test_a_checkpoint_trained_on_other_data_is_refused(tmp_path):
    spec = Spec(REAL, ARCH, SEL, label="real")
    _ws(tmp_path).fit(spec)
    other = _ws(tmp_path)
    other.store.preload((SEL, "train"), synthetic_dataset(seed=1))  # same shapes, another split or file
    with pytest.raises(CheckpointError, match="trained on other data"):
        other.fit(spec)


def test_a_phase1_file_in_a_phase2_slot_is_refused(tmp_path):
    ws = _ws(tmp_path)
    p1 = Spec(LLC, ARCH, SEL, label="llc")
    p2 = _phase2(p1)
    ws.fit(p1)
    ws.ckpt_path(p2).write_bytes(ws.ckpt_path(p1).read_bytes())
    with pytest.raises(CheckpointError, match="holds a 'llc' run"):
        _ws(tmp_path).fit(p2)


def test_evaluation_workspace_never_trains(tmp_path):
    ws = _ws(tmp_path, train=False)
    with pytest.raises(CheckpointError, match="evaluation never trains"):
        ws.fit(Spec(REAL, ARCH, SEL, label="real"))
    assert not list(tmp_path.rglob("*.pt"))


def test_same_spec_same_weights_in_two_workspaces(tmp_path):
    spec = Spec(LLC, ARCH, SEL)
    a, b = _ws(tmp_path / "a").fit(spec), _ws(tmp_path / "b").fit(spec)
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), n


def test_fit_leaves_the_global_rng_alone(tmp_path):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    _ws(tmp_path).fit(Spec(REAL, ARCH, SEL))
    assert torch.equal(before, torch.get_rng_state())


def test_set_overrides_are_typed_checked_and_recorded():
    p = apply_sets(
        get_profile("cpu"),
        [
            "llc.lr=0.05",
            "instance.epochs=7",
            "width=32",
            "real.bits=16",
            "real.nested=7,14",
            "real.max_steps_per_epoch=none",
            "llc.nesterov=false",
        ],
    )
    assert p.llc.lr == 0.05 and p.instance.epochs == 7 and p.width == 32 and p.real.nested == (7, 14)
    assert p.real.max_steps_per_epoch is None and p.llc.nesterov is False
    assert p.overrides == (
        "llc.lr=0.05",
        "instance.epochs=7",
        "width=32",
        "real.bits=16",
        "real.nested=7,14",
        "real.max_steps_per_epoch=None",
        "llc.nesterov=False",
    )
    for bad, message in (
        ("llc.lr=fast", "is not a float"),
        ("llc.colour=1", "valid keys: real.epochs"),
        ("phase3.lr=1", "valid keys"),
        ("width", "takes key=value"),
        ("depth=3", "valid keys"),
        ("llc.epochs=0", "must be positive"),
    ):
        with pytest.raises(ValueError, match=message):
            apply_sets(get_profile("cpu"), [bad])


# ------------------------------------------------------------- no silent reuse, through the CLI, real data


def _cli(runs, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, "-m", "llc_lib", *args, "--runs-dir", str(runs)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    if args[0] != "reproduce":
        return None
    (found,) = (runs / "smoke" / "variants").glob("*/headline_results.json")  # --max-steps: a variant, not the profile
    return json.loads(found.read_text())


FAST = ("--profile", "smoke", "--max-steps", "2")


@pytest.mark.slow
@pytest.mark.parametrize(
    "first",
    [
        ("train", "--what", "instance", "--epochs", "1"),  # B1: a Phase 2 trained on another Phase 1
        ("train", "--what", "real", "--subset", "5"),  # B2: a real model trained on a subset
    ],
    ids=["phase2-of-another-phase1", "real-on-a-subset"],
)
def test_reproduce_after_another_run_equals_reproduce_in_an_empty_folder(tmp_path, first):
    real_data_or_skip()
    clean = _cli(tmp_path / "clean", "reproduce", *FAST)
    _cli(tmp_path / "polluted", *first, *FAST)
    polluted = _cli(tmp_path / "polluted", "reproduce", *FAST)
    assert polluted["real_top1"] == clean["real_top1"] and polluted["llc"] == clean["llc"]
    assert polluted["checkpoints"] == clean["checkpoints"]
    for name in clean["checkpoints"].values():  # the very weights, not only numbers near chance
        a, b = (
            torch.load(r / "smoke" / "ckpt" / f"{name}.pt", weights_only=True)["model"]
            for r in (tmp_path / "clean", tmp_path / "polluted")
        )
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_a_new_method_is_one_registry_line(tmp_path, monkeypatch):
    """A method registered in ``methods.METHODS`` trains through the run graph and the loop unchanged."""
    import sys
    import types

    from llc_lib import methods
    from llc_lib.methods import llc

    def full_length_only(model, f, y, cfg, progress=0.0):  # Phase 1 without nesting, whatever cfg.nested says
        return llc.phase1_loss(model, f, y, cfg.replace(nested=()), progress)

    # the new method's file, llc_lib/methods/full_length.py, as the import system would find it
    monkeypatch.setitem(sys.modules, "llc_lib.methods.full_length", types.SimpleNamespace(loss=full_length_only))
    monkeypatch.setitem(methods.METHODS, "llc-full", methods.Method("full_length", "llc"))
    spec = Spec(LLC.replace(mode="llc-full"), ARCH, SEL, label="llc-full")
    ws = _ws(tmp_path)
    ws.fit(spec)
    assert load_checkpoint(ws.ckpt_path(spec))["history"][0]["train_acc"] >= 0
    for name in ("graph/spec.py", "graph/workspace.py", "engine/train.py"):  # the loop and the graph name no method
        source = (REPO / "llc_lib" / name).read_text()
        assert not any(f'"{m}"' in source for m in methods.METHODS), name


def test_the_manifest_lists_what_each_notebook_fits():
    """Built from the studies' declarations: the notebooks' study calls are found in their code."""
    from llc_lib.graph import plan
    from llc_lib.manifest import notebook_specs, notebook_studies

    assert [f.__name__ for f in notebook_studies("05_linear_vs_hamming")] == [
        "separability",
        "fast_codebook",
        "bit_interpretability",
    ]
    p = get_profile("cpu")
    specs = notebook_specs(p)
    assert plan.fast_codebook(p, 0) in specs["05_linear_vs_hamming"] and specs["99_paper_vs_reproduction"] == []
    assert set(specs["07_ood"]) == {*plan.ood(p, 0), plan.ood_equal_budget(p, 0)}


def test_a_seed_study_is_a_prerequisite_of_the_notebooks_that_read_it(tmp_path, monkeypatch):
    """After `make seeds`, `make reproduce` re-runs the error-bar and report notebooks, and only those."""
    from llc_lib.config.folders import figures_dir
    from llc_lib.manifest import make_rules

    monkeypatch.setenv("LLC_FIGURES_DIR", str(tmp_path / "figs"))
    p, ws = get_profile("smoke"), _ws(tmp_path)

    def readers():
        rules = [
            line.split(":")[0]
            for line in make_rules(p, ws, "RUN", "python").splitlines()
            if ":" in line and "seeds.json" in line.split(":", 1)[1]
        ]
        return sorted(r.removeprefix("RUN/") for r in rules)

    seeds = figures_dir(p, ws.root) / "seeds.json"
    # no seed study: no notebook waits for one, and the manifest is made again once it appears (test_makefile)
    assert readers() == [] and f"ifneq ($(wildcard {seeds}),)" in make_rules(p, ws, "RUN", "python")
    seeds.parent.mkdir(parents=True)
    seeds.write_text("{}")
    assert readers() == ["02_accuracy_vs_bits.ipynb", "99_paper_vs_reproduction.ipynb", "manifest.mk"]


def test_a_checkpoint_renamed_to_another_spec_is_refused(tmp_path):
    ws = _ws(tmp_path)
    a, b = Spec(LLC, ARCH, SEL, label="llc"), Spec(LLC.replace(lr=0.06), ARCH, SEL, label="llc")
    ws.fit(a)
    ws.ckpt_path(a).rename(ws.ckpt_path(b))
    with pytest.raises(CheckpointError, match="written for another spec"):
        _ws(tmp_path).fit(b)


def test_a_finished_model_whose_parent_is_missing_is_refused_and_nothing_is_trained(tmp_path):
    ws = _ws(tmp_path)
    p1 = Spec(LLC, ARCH, SEL, label="llc")
    p2 = _phase2(p1)
    ws.fit(p2)
    ws.ckpt_path(p1).unlink()
    for train in (False, True):
        with pytest.raises(CheckpointError, match=f"which is missing; restore it, or delete {ws.ckpt_path(p2).name}"):
            _ws(tmp_path, train=train).fit(p2)
        assert not ws.ckpt_path(p1).exists()  # never trained just to check the child


def test_a_baseline_codebook_file_under_another_specs_name_is_rebuilt(tmp_path):
    ws = _ws(tmp_path)
    a, b = CodebookSpec("random", 6, seed=0, num_classes=5), CodebookSpec("random", 6, seed=1, num_classes=5)
    ws.codebook(a)
    ws.codebook_path(a).replace(ws.codebook_path(b))  # the file of seed 0 under seed 1's name
    assert np.array_equal(_ws(tmp_path).codebook(b)["codes"], random_codebook(5, 6, 1))


def test_an_equal_budget_model_continues_its_parent_under_phase2s_recipe(tmp_path):
    """plan.equal_budget: the parent's every weight, then Phase 2's epochs, lr and schedule; the fitted model
    starts where its parent ended (a model of another method cannot be continued)."""
    from llc_lib.graph import plan

    for name in ("cpu", "gpu"):
        p = get_profile(name)
        for spec in (plan.real(p, 0), plan.real_bottleneck(p, 0)):
            ep = plan.equal_budget(p, spec).cfg.epochs + spec.cfg.epochs
            assert ep == plan.llc(p, 0).cfg.epochs + plan.instance(p, plan.llc(p, 0)).cfg.epochs, name
    p = get_profile("cpu")
    real = plan.real(p, 0)
    more = plan.equal_budget(p, real)
    assert (more.init, more.parent, more.mode) == ("continue", real, "real")
    assert (more.cfg.epochs, more.cfg.lr, more.cfg.schedule) == (p.instance.epochs, p.instance.lr, p.instance.schedule)
    assert more.cfg.epochs + real.cfg.epochs == plan.llc(p, 0).cfg.epochs + plan.instance(p, plan.llc(p, 0)).cfg.epochs
    with pytest.raises(ValueError, match="training continued"):
        Spec(REAL, ARCH, SEL, "continue", Spec(LLC, ARCH, SEL))

    ws = _ws(tmp_path)
    parent = Spec(REAL, ARCH, SEL)
    child = Spec(REAL.replace(lr=1e-9, weight_decay=0.0), ARCH, SEL, "continue", parent)
    a, b = ws.fit(parent), ws.fit(child)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        if x.is_floating_point() and "running" not in name:  # BatchNorm statistics move with the data
            assert torch.allclose(x, y, atol=1e-5), name

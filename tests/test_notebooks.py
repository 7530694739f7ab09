"""The notebooks under papermill: the parameters cell is the first code cell, and one ``llc_lib.notebook.setup``
call in the second validates every parameter before a model is fitted; a parameter off its committed value is
an override that never publishes; notebooks are committed without outputs; opened by hand, a notebook evaluates
the committed weights (installed on the cpu profile) or shows the committed results where there are none; each
notebook of the gpu profile runs at smoke scale. The full notebooks run on the smoke profile under nbval
(`make test`)."""

from pathlib import Path

import pytest

pm = pytest.importorskip("papermill")

REPO = Path(__file__).resolve().parent.parent
NB = REPO / "notebooks"


@pytest.mark.parametrize(
    "nb,params,message",
    [
        ("02_accuracy_vs_bits", {"profile": "smoke", "bits": [0, 7]}, "bit widths must be integers"),
        ("02_accuracy_vs_bits", {"profile": "smoke", "overrides": ["llc.lr=fast"]}, "is not a float"),
        ("03_code_heatmaps", {"profile": "fastest"}, "unknown profile 'fastest'"),
        ("04_taxonomy", {"profile": "smoke", "n_clusters": 1}, "n_clusters must be an integer in 2..100"),
        ("06_retrieval", {"profile": "smoke", "bits": [12]}, "retrieval bits [12] are not trained"),
        ("07_ood", {"profile": "smoke", "ns": [0, 10]}, "ns must be an integer in 1.."),
        ("01_train_models", {"profile": "imagenet"}, "trains on ImageFolder data through the command line"),
        ("05_linear_vs_hamming", {"profile": "smoke", "seed": -1}, "seed must be an integer"),
    ],
)
def test_bad_parameter_stops_before_anything_is_trained(tmp_path, nb, params, message):
    """The library validates every parameter before it fits a model: one clear error, no checkpoint."""
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(
            str(NB / f"{nb}.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
        )
    assert message in str(e.value)
    assert not list((tmp_path / "runs").rglob("*.pt"))  # LLC_RUNS_DIR points here (conftest)


def test_notebooks_take_no_dataset_parameter_and_set_up_in_one_call_with_every_parameter():
    """One ``setup`` call, given the standard four, the notebook's name and each of its own parameters by name:
    a parameter not passed could change the published figures unnoticed."""
    import ast
    import json

    from llc_lib.notebook import STANDARD, notebook_parameters

    for p in NB.glob("*.ipynb"):
        cells = [c for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code"]
        assert "dataset" not in "".join(cells[0]["source"]), p.name
        calls = [
            n
            for n in ast.walk(ast.parse("".join(cells[1]["source"])))
            if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "setup"
        ]
        assert len(calls) == 1, p.name
        assert [a.id for a in calls[0].args] == list(STANDARD), p.name
        kw = {k.arg: k.value for k in calls[0].keywords}
        assert ast.literal_eval(kw.pop("notebook")) == p.stem, p.name
        own = [k for k in notebook_parameters(p.stem) if k not in STANDARD]
        assert sorted(kw) == sorted(own) and all(v.id == k for k, v in kw.items()), p.name


def test_a_notebook_parameter_or_seed_off_its_committed_value_is_an_override_never_published(tmp_path):
    """make reproduce leaves every parameter but profile and train at the parameters cell's value; any other
    value is recorded as an override and writes to the variant folder, on every profile."""
    from llc_lib.config.folders import figures_dir
    from llc_lib.config.profiles import get_profile
    from llc_lib.notebook import parameter_overrides, setup
    from llc_lib.studies import run_record

    published = figures_dir(get_profile("smoke"))
    ctx = setup("smoke", 0, [], True, notebook="03_code_heatmaps", bits=14)
    assert ctx.profile.overrides == () and ctx.figdir == published
    ctx = setup("smoke", 0, [], True, notebook="03_code_heatmaps", bits=7)
    assert ctx.profile.overrides == ("03_code_heatmaps.bits=7",) and ctx.figdir != published
    assert run_record(ctx.profile, None)["overrides"] == ["03_code_heatmaps.bits=7"]
    ctx = setup("cpu", 1, [], True, notebook="03_code_heatmaps", bits=14, device="cpu")
    assert ctx.profile.overrides == ("seed=1",) and ctx.figdir != figures_dir(get_profile("cpu"))
    assert (
        parameter_overrides(
            "06_retrieval", 0, {"bits": (8, 10, 16, 32, 64), "R": 1000, "pr_bits": [10, 16], "hash_epochs": None}
        )
        == ()
    )  # a tuple spells the same list
    assert parameter_overrides("07_ood", 0, {"ns": [10, 30], "repeats": 20}) == ("07_ood.ns=[10, 30]",)
    with pytest.raises(ValueError, match=r"takes its parameters \['bits'\] as keywords"):
        setup("smoke", 0, [], True, notebook="03_code_heatmaps")  # a parameter left out
    with pytest.raises(ValueError, match="takes its parameters"):
        setup("smoke", 0, [], True, notebook="03_code_heatmaps", bits=14, width=4)  # not a parameter of it
    with pytest.raises(ValueError, match="need the notebook's name"):
        setup("smoke", 1, [], True)


def test_papermill_with_another_parameter_leaves_the_published_figures_alone(tmp_path, monkeypatch):
    """The hostile user's command: papermill ... -p profile smoke -p train True -p bits 7."""
    import json

    published = tmp_path / "published"
    published.mkdir()
    (published / "03_code_heatmaps.json").write_text("{}")
    monkeypatch.setenv("LLC_FIGURES_DIR", str(published))
    pm.execute_notebook(
        str(NB / "03_code_heatmaps.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters={"profile": "smoke", "train": True, "bits": 7},
        kernel_name="python3",
        progress_bar=False,
    )
    assert [p.name for p in published.iterdir()] == ["03_code_heatmaps.json"]
    assert (published / "03_code_heatmaps.json").read_text() == "{}"
    written = list((tmp_path / "runs" / "smoke" / "variants").rglob("03_code_heatmaps.json"))
    assert len(written) == 1 and json.loads(written[0].read_text())["run"]["overrides"] == ["03_code_heatmaps.bits=7"]


def test_notebooks_are_committed_without_outputs():
    import json

    for p in NB.glob("*.ipynb"):
        for cell in json.loads(p.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, p.name


def _headless(notebook: str, tmp_path, profile: str) -> str:
    """Run ``notebook`` headless with its default parameters on ``profile``; returns the executed notebook's
    text (PapermillExecutionError when a cell fails)."""
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NB / f"{notebook}.ipynb"),
        str(out),
        parameters={"profile": profile},
        kernel_name="python3",
        progress_bar=False,
    )
    return out.read_text()


def test_a_notebook_run_headless_evaluates_the_committed_weights_and_ends_cleanly(tmp_path):
    """The cpu profile, train = False (the default), no checkpoints: the committed weights are installed
    (verified) and evaluated into the view folder, nothing is trained, the run ends with exit code 0 and the
    committed figures are not touched."""
    before = {p: p.read_bytes() for p in (REPO / "figures").glob("code_heatmaps_*.png")}
    text = _headless("03_code_heatmaps", tmp_path, "cpu")
    assert "installed" in text and "nothing is trained" in text
    view = tmp_path / "runs" / "cpu" / "view"
    assert (view / "03_code_heatmaps.json").is_file() and list(view.glob("*.png"))
    assert {p: p.read_bytes() for p in (REPO / "figures").glob("code_heatmaps_*.png")} == before


def test_without_committed_weights_a_notebook_shows_the_committed_results_and_stops(tmp_path):
    """The gpu profile has no committed weights: opened by hand without checkpoints, the notebook shows what is
    committed, stops with one line that says how to evaluate or train, and trains or writes nothing."""
    with pytest.raises(pm.PapermillExecutionError) as e:
        _headless("02_accuracy_vs_bits", tmp_path, "gpu")
    assert "Shown:" in str(e.value) and "not trained here" in str(e.value) and "train = True" in str(e.value)
    assert not list(tmp_path.rglob("*.pt")) and not (tmp_path / "runs" / "gpu" / "view").exists()


def test_opened_by_hand_with_checkpoints_evaluates_into_the_view_folder(tmp_path, monkeypatch):
    from llc_lib.config.profiles import get_profile
    from llc_lib.core.paths import REPO_ROOT
    from llc_lib.graph import weights
    from llc_lib.notebook import notebook_outputs, setup, view_dir

    assert notebook_outputs("02_accuracy_vs_bits") == {
        "figures": ["accuracy_vs_bits", "bits_right", "phase2_budget"],
        "json": ["02_accuracy_vs_bits"],
    }
    weights.install(REPO_ROOT / "weights" / "cpu", tmp_path / "runs" / "cpu")  # LLC_RUNS_DIR (conftest)
    ctx = setup("cpu", 0, [], False, notebook="03_code_heatmaps", device="cpu", bits=14)
    assert ctx.figdir == view_dir(get_profile("cpu")) == tmp_path / "runs" / "cpu" / "view"
    assert not ctx.ws.train  # evaluation only: a missing model raises instead of training
    assert setup("smoke", 0, [], False, notebook="03_code_heatmaps", bits=14).ws.train  # smoke always runs
    with pytest.raises(ValueError, match="train must be True or False"):
        setup("cpu", 0, [], "yes", notebook="03_code_heatmaps", bits=14)


def test_the_report_notebook_run_headless_reports_from_the_committed_results(tmp_path):
    """It trains nothing; without the other notebooks' JSON in the view folder it reads the committed ones and
    writes the report into the view folder, ending with exit code 0."""
    assert "read the committed results of" in _headless("99_paper_vs_reproduction", tmp_path, "cpu")
    view = tmp_path / "runs" / "cpu" / "view"
    assert "Paper vs reproduction" in (view / "paper_vs_reproduction.md").read_text()
    assert not list(tmp_path.rglob("*.pt"))


# the gpu profile's recipe and studies (three seeds cut to two, whole-batch Phase 2, its schedules and learning
# rates) on a narrow network, a few images per class and one optimiser step per epoch: every code path a user
# with a GPU meets, in minutes on a CPU
GPU_AT_SMOKE_SCALE = [
    "width=8",
    "fast_width=4",
    "per_class=5",
    "test_per_class=5",
    "fast_per_class=5",
    "seeds=0,1",
    "warm_epochs=1",
    "csq_epochs=1",
    "ood_epochs=1",
] + [
    f"{run}.{field}=1"
    for run in ("real", "llc", "instance", "comparison", "hashing")
    for field in ("epochs", "max_steps_per_epoch")
]


@pytest.mark.slow
def test_every_notebook_runs_on_the_gpu_profile_at_smoke_scale(tmp_path):
    """``make reproduce`` picks the gpu profile wherever CUDA is present; each of its notebooks, in make's order,
    runs here first (on the CPU), writes its JSON into the variant folder and leaves the published gpu figures
    alone."""
    import json

    from llc_lib.config.folders import figures_dir
    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile
    from llc_lib.manifest import NOTEBOOKS

    prof = apply_sets(get_profile("gpu"), GPU_AT_SMOKE_SCALE)
    assert (prof.instance.micro_batch, prof.instance.lr, prof.seeds) == (None, get_profile("gpu").instance.lr, (0, 1))
    out = figures_dir(prof)
    assert out.is_relative_to(tmp_path)  # LLC_RUNS_DIR (conftest): a variant folder, never figures/gpu
    for nb in NOTEBOOKS:
        pm.execute_notebook(
            str(NB / f"{nb}.ipynb"),
            str(tmp_path / f"{nb}.ipynb"),
            kernel_name="python3",
            parameters={"profile": "gpu", "train": True, "overrides": GPU_AT_SMOKE_SCALE},
            progress_bar=False,
        )
    written = {p.stem for p in out.glob("*.json")}
    assert {nb for nb in NOTEBOOKS if nb != "99_paper_vs_reproduction"} <= written
    assert (out / "paper_vs_reproduction.md").exists()
    run = json.loads((out / "01_train_models.json").read_text())["run"]
    assert run["profile"] == "gpu" and run["overrides"] == list(prof.overrides)


def test_a_reader_who_only_browses_sees_every_committed_figure():
    """Each notebook's first cell links every figure it writes, as committed in figures/ (the cpu profile's), so
    that the repository shows them without outputs in the notebooks."""
    import json

    from llc_lib.manifest import NOTEBOOKS
    from llc_lib.notebook import notebook_outputs

    for nb in NOTEBOOKS:
        first = "".join(json.loads((REPO / "notebooks" / f"{nb}.ipynb").read_text())["cells"][0]["source"])
        for stem in notebook_outputs(nb)["figures"]:
            assert f"(../figures/{stem}.png)" in first, (nb, stem)
            assert (REPO / "figures" / f"{stem}.png").is_file(), (nb, stem)

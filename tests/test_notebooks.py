"""Notebook parameters are validated in the first code cell (the full notebooks run under nbval)."""
import pytest

pm = pytest.importorskip("papermill")
from pathlib import Path  # noqa: E402

NB = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("nb,params,message", [
    ("02_accuracy_vs_bits", {"profile": "smoke", "bits": [0, 7]}, "bit widths must be integers"),
    ("02_accuracy_vs_bits", {"profile": "smoke", "overrides": ["llc.lr=fast"]}, "is not a float"),
    ("03_code_heatmaps", {"profile": "fastest"}, "unknown profile 'fastest'"),
    ("04_taxonomy", {"profile": "smoke", "n_clusters": 1}, "n_clusters must be an integer in 2..100"),
    ("06_retrieval", {"profile": "smoke", "bits": [12]}, "retrieval bits [12] are not trained"),
    ("07_ood", {"profile": "smoke", "ns": [0, 10]}, "ns must be an integer in 1.."),
    ("01_train_models", {"profile": "imagenet"}, "trains on ImageFolder data through the command line"),
    ("05_linear_vs_hamming", {"profile": "smoke", "seed": -1}, "seed must be an integer"),
])
def test_bad_parameter_stops_before_anything_is_trained(tmp_path, nb, params, message):
    """The library validates every parameter before it fits a model: one clear error, no checkpoint."""
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(NB / f"{nb}.ipynb"), str(tmp_path / "out.ipynb"), parameters=params,
                            kernel_name="python3", progress_bar=False)
    assert message in str(e.value)
    assert not list((tmp_path / "runs").rglob("*.pt"))  # LLC_RUNS_DIR points here (conftest)


def test_notebooks_take_no_dataset_parameter_and_set_up_in_one_call():
    import json

    for p in NB.glob("*.ipynb"):
        cells = [c for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code"]
        assert "dataset" not in "".join(cells[0]["source"]), p.name
        assert "".join(cells[1]["source"]).count("setup(profile, seed, overrides)") == 1, p.name


def test_notebooks_are_committed_without_outputs():
    import json

    for p in NB.glob("*.ipynb"):
        for cell in json.loads(p.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, p.name

"""Notebook parameters are validated in the first code cell (the full notebooks run under nbval)."""
import pytest

pm = pytest.importorskip("papermill")
from pathlib import Path  # noqa: E402

NB = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("nb,params,message", [
    ("02_accuracy_vs_bits", {"profile": "smoke", "bits": [0, 7]}, "bit widths must be integers"),
    ("03_code_heatmaps", {"profile": "fastest"}, "unknown profile 'fastest'"),
    ("04_taxonomy", {"profile": "smoke", "dataset": "imagenet21k"}, "dataset 'imagenet21k' is not available"),
    ("06_retrieval", {"profile": "smoke", "bits": [12]}, "retrieval bits [12] are not trained"),
    ("07_ood", {"profile": "smoke", "ns": [0, 10]}, "ns must be a list of positive integers"),
    ("01_train_models", {"profile": "imagenet"}, "trains on ImageFolder data through the command line"),
])
def test_bad_parameter_stops_in_first_cell(tmp_path, nb, params, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(NB / f"{nb}.ipynb"), str(tmp_path / "out.ipynb"), parameters=params,
                            kernel_name="python3", progress_bar=False)
    assert message in str(e.value)
    assert e.value.exec_count <= 3  # parameters, injected parameters, set-up: nothing trained


def test_notebooks_are_committed_without_outputs():
    import json

    for p in NB.glob("*.ipynb"):
        for cell in json.loads(p.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, p.name

"""Phase 2's budget figure reads the committed measurements of today's Phase 2 recipe, and refuses those of
another one."""

import dataclasses
import json

import pytest

from llc_lib.config.profiles import get_profile
from llc_lib.results import budget


def test_the_budget_is_the_recipe_at_15_30_and_60_epochs():
    b = budget.phase2_budget()
    assert b["epochs"] == [15, 30, 60] and b["profile_epochs"] in b["epochs"]
    for e in b["epochs"]:
        for split in budget.SPLITS:
            assert set(b["points"][str(e)][split]) == {"14", "20"}
    # the paper's level is its ED over its class-code accuracy, not a number typed here, and the curve drawn
    # against it is the same ratio of ours
    assert b["paper_p_exact"] == pytest.approx(68.82 / 75.5)
    for e in b["epochs"]:
        for split in budget.SPLITS:
            for r in b["points"][str(e)][split].values():
                assert r[budget.RATIO] > r["ed_acc"]  # ED over a class-code accuracy below 1
    row = json.loads((budget.MEASUREMENTS / budget.SOURCES[0][0]).read_text())[budget.SOURCES[0][1]]["test"]["14"]
    assert b["points"]["15"]["test"]["14"][budget.RATIO] == row["ed_acc"] / row["class_code_acc"]


def test_a_measurement_of_another_recipe_is_refused(tmp_path):
    inst = get_profile("cpu").instance
    with pytest.raises(ValueError, match="measure the budget again"):
        budget.phase2_budget(dataclasses.replace(inst, lr=inst.lr / 2))
    for name, _ in budget.SOURCES:  # a measurement whose learning rate was changed is refused too
        rows = json.loads((budget.MEASUREMENTS / name).read_text())
        for row in rows.values():
            if "sets" in row:
                row["sets"] = [s.replace("instance.lr=0.2", "instance.lr=0.1") for s in row["sets"]]
        (tmp_path / name).write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="lr 0.1"):
        budget.phase2_budget(folder=tmp_path)

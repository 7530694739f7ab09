"""End-to-end smoke run on the real CIFAR-100 file (tiny stratified subset, 2 epochs)."""
import json
import time

import pytest

from conftest import real_data_or_skip
from llc_lib import pipeline as P
from llc_lib.config import get_profile, resolve_profile


def test_profiles_resolve(monkeypatch):
    monkeypatch.setenv("LLC_PROFILE", "smoke")
    assert resolve_profile("auto") == "smoke"
    assert get_profile("cpu").max_bits == 20
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
    # second run: every model comes from its checkpoint, so no training and identical numbers
    t = time.time()
    again = P.reproduce("smoke", seed=0, device="cpu")
    assert again["llc"] == res["llc"] and again["real_top1"] == res["real_top1"]
    assert again["seconds"]["real"] + again["seconds"]["llc_phase1"] + again["seconds"]["llc_phase2"] < \
        res["seconds"]["real"] + res["seconds"]["llc_phase1"] + res["seconds"]["llc_phase2"]

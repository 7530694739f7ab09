"""Bad input gets one clear error and never destroys data; each fault found by hand has a test here."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import REPO
from llc_lib.__main__ import main


def test_dangling_data_link_is_named_and_repaired_by_make_data(tmp_path, monkeypatch, capsys):
    from llc_lib import data as D

    shared = tmp_path / "shared"
    shared.mkdir()
    np.savez(shared / "cifar10_test.npz", images=np.zeros((2, 32, 32, 3), np.uint8))
    root = tmp_path / "data"
    root.mkdir()
    (root / "cifar10_test.npz").symlink_to(tmp_path / "gone.npz")
    with pytest.raises(D.DataError, match="which does not exist.*make data"):
        D.load_ood("cifar10", root)
    D.link_shared(shared, root)
    assert (root / "cifar10_test.npz").resolve() == (shared / "cifar10_test.npz").resolve()
    assert len(D.load_ood("cifar10", root)) == 2


def test_make_data_fails_on_a_checksum_mismatch(tmp_path, monkeypatch, capsys):

    shared = tmp_path / "shared"
    shared.mkdir()
    z = dict(images=np.zeros((100, 32, 32, 3), np.uint8), labels=np.arange(100) % 100,
             coarse_labels=np.arange(100) % 20, label_names=np.array([f"c{i}" for i in range(100)]),
             coarse_names=np.array([f"s{i}" for i in range(20)]), split=np.zeros(100, np.uint8))
    np.savez(shared / "cifar100.npz", **z)
    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path / "data"))
    assert main(["data", "--shared", str(shared), "--data-dir", str(tmp_path / "data")]) == 2
    out = capsys.readouterr()
    assert "sha256 MISMATCH" in out.out and "differ from the shipped files" in out.err
    assert (shared / "cifar100.npz").exists()  # nothing deleted


def test_eval_only_evaluates_and_names_the_missing_checkpoint(tmp_path, capsys):
    assert main(["eval", "--profile", "smoke", "--runs-dir", str(tmp_path)]) == 2
    assert "no finished checkpoint for real" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.pt"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_is_one_clear_error(tmp_path, capsys):
    assert main(["train", "--profile", "smoke", "--device", "cuda", "--runs-dir", str(tmp_path)]) == 2
    assert "has no CUDA GPU" in capsys.readouterr().err


def test_bad_set_is_one_clear_error(tmp_path, capsys):
    assert main(["train", "--profile", "smoke", "--set", "llc.lr=fast", "--runs-dir", str(tmp_path)]) == 2
    assert "is not a float" in capsys.readouterr().err


def test_a_failing_notebook_leaves_the_figure_folder_as_it_was(tmp_path):
    import matplotlib.pyplot as plt

    from llc_lib import plots
    from llc_lib.graph import Workspace
    from llc_lib.config import get_profile
    from llc_lib.studies import Context

    ctx = Context(get_profile("smoke"), Workspace(tmp_path / "runs", torch.device("cpu")), tmp_path / "fig")
    ctx.figdir.mkdir()
    (ctx.figdir / "a.png").write_bytes(b"old")
    fig, _ = plt.subplots()
    plots.save(fig, "a", ctx.out)  # a notebook stages its figure, then fails before publish()
    ctx.save_json({"x": 1, "_arrays": [1]}, "a")
    assert (ctx.figdir / "a.png").read_bytes() == b"old" and not (ctx.figdir / "a.json").exists()
    ctx.publish()
    assert (ctx.figdir / "a.png").read_bytes() != b"old" and (ctx.figdir / "a.pdf").exists()
    assert (ctx.figdir / "a.json").read_text().strip().startswith("{") and "_arrays" not in (ctx.figdir / "a.json").read_text()
    assert sorted(p.name for p in ctx.figdir.iterdir()) == ["a.json", "a.pdf", "a.png"]


def test_decoders_refuse_codes_of_another_length():
    from llc_lib.decode import ed_decode, mhd_decode
    from llc_lib.metrics import code_metrics

    inst, cls = np.ones((3, 10)), np.ones((4, 12))
    for fn in (mhd_decode, ed_decode, lambda a, b: code_metrics(a, b, [0, 1, 2])):
        with pytest.raises(ValueError, match="10 bits but class codes 12"):
            fn(inst, cls)


def test_exact_zero_output_is_bit_minus_one_as_binarize_reads_codebooks():
    from llc_lib.decode import ed_decode

    cls = np.array([[1, -1], [-1, -1]])
    assert ed_decode(np.array([[0.0, -0.5]]), cls)["pred"].tolist() == [1]  # 0 -> -1, as codebook.binarize


def test_make_lab_allows_root():
    r = subprocess.run(["make", "-n", "-C", str(REPO), "lab", f"VENV={sys.prefix}"], capture_output=True, text=True)
    assert "jupyter lab notebooks/" in r.stdout and "--allow-root" in r.stdout


def test_second_make_reproduce_in_one_clone_stops_with_a_message(tmp_path):
    import fcntl

    (REPO / "runs").mkdir(exist_ok=True)
    with open(REPO / "runs" / ".reproduce.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another `make reproduce` holds it
        r = subprocess.run(["make", "-s", "-C", str(REPO), "reproduce", "PROFILE=smoke", f"VENV={sys.prefix}",
                            "SHARED=/nonexistent"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "LLC_RUNS_DIR": str(tmp_path)})
    assert r.returncode != 0, r.stdout + r.stderr  # make reports the recipe's exit status 75 as 2
    assert "another 'make reproduce' is running in this clone" in r.stdout

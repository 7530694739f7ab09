"""The multi-process code path on CPU: DDP with gloo and 2 processes, the torchrun CLI on ImageFolder data,
--resume, the Tiny ImageNet val helper, and AMP staying off on CPU."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.ckpt import load_checkpoint
from llc_lib.engine.device import autocast
from llc_lib.engine.models import build_model
from llc_lib.engine.train import evaluate, train

from conftest import synthetic_dataset

REPO = Path(__file__).resolve().parent.parent
CFG = TrainConfig(mode="llc", bits=6, nested=(3, 6), epochs=2, batch_size=8, lr=0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str):
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    data, test = synthetic_dataset(n_per_class=9), synthetic_dataset(n_per_class=3, seed=1)
    torch.manual_seed(0)
    model = build_model("llc", 5, width=4, bits=6)
    hist = train(
        model, data, CFG, device=torch.device("cpu"), ckpt=Path(out) / "ckpt.pt", progress=rank == 0, eval_data=test
    )
    torch.save(
        {"state": model.state_dict(), "history": hist, "acc": evaluate(model, test, torch.device("cpu"))},
        Path(out) / f"rank{rank}.pt",
    )
    dist.destroy_process_group()


def test_ddp_two_processes_gloo(tmp_path):
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for (name, a), b in zip(r0["state"].items(), r1["state"].values()):  # all-reduced gradients, synced buffers
        assert torch.equal(a, b), name

    def numbers(history):  # each process times its own epochs: wall-clock seconds may differ by a rounding step
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    assert numbers(r0["history"]) == numbers(r1["history"])  # loss/accuracy summed over both shards, on every rank
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt", "rank0.pt", "rank1.pt"]  # rank 0 saves
    ck = load_checkpoint(tmp_path / "ckpt.pt")
    assert ck["epoch"] == 2 and torch.equal(ck["model"]["head.codebook"], r0["state"]["head.codebook"])
    # the all-reduced test accuracy equals a single-process evaluation of the same weights
    model = build_model("llc", 5, width=4, bits=6)
    model.load_state_dict(r0["state"])
    test = synthetic_dataset(n_per_class=3, seed=1)
    single = evaluate(model, test, torch.device("cpu"))
    assert r0["acc"] == r1["acc"] == pytest.approx(single)
    assert r0["history"][-1]["test_acc"] == pytest.approx(single)


def _image_folder(root: Path, classes=3, per_class=4):
    """A tiny Tiny-ImageNet-style tree: train/<wnid>/images/*.png and val/images + val_annotations.txt."""
    from PIL import Image

    rng = np.random.default_rng(0)
    base = root / "tiny-imagenet-200"
    lines = []
    for c in range(classes):
        wnid = f"n{c:08d}"
        (base / "train" / wnid / "images").mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(
                base / "train" / wnid / "images" / f"{wnid}_{i}.png"
            )
        for i in range(2):
            name = f"val_{c}_{i}.png"
            (base / "val" / "images").mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(base / "val" / "images" / name)
            lines.append(f"{name}\t{wnid}\t0\t0\t15\t15")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return base


def test_tinyimagenet_val_helper_links_and_keeps_originals(tmp_path):
    from llc_lib.engine.data import DataError, load_image_folders, tinyimagenet_val_folders

    base = _image_folder(tmp_path)
    before = sorted(p.name for p in (base / "val" / "images").iterdir())
    out = tinyimagenet_val_folders(tmp_path)
    again = tinyimagenet_val_folders(tmp_path)  # idempotent
    assert out == again == base / "val_by_class"
    assert sorted(p.name for p in (base / "val" / "images").iterdir()) == before
    assert sorted(p.name for p in out.iterdir()) == ["n00000000", "n00000001", "n00000002"]
    assert all(p.is_symlink() for p in out.rglob("*.png"))
    tr, va = load_image_folders("tinyimagenet", 16, tmp_path)
    assert len(tr) == 12 and len(va) == 6 and tr.classes == va.classes
    (base / "val" / "val_annotations.txt").unlink()
    with pytest.raises(DataError, match="val_annotations.txt is missing"):
        tinyimagenet_val_folders(tmp_path)
    with pytest.raises(DataError, match="imagenet/train is missing"):
        load_image_folders("imagenet", 16, tmp_path)


def test_torchrun_cli_on_image_folders(tmp_path):
    """`torchrun --nproc_per_node=2 -m llc_lib train` on CPU (gloo): ResNet50, DataLoader, rank-0 logging."""
    _image_folder(tmp_path / "data")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

    def run(*a):
        return subprocess.run([sys.executable, *a], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)

    r = run("-m", "llc_lib", "data", "--tinyimagenet-val", "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    args = [
        "--profile",
        "tinyimagenet",
        "--what",
        "llc",
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--image-size",
        "32",
        "--workers",
        "1",
        "--data-dir",
        str(tmp_path / "data"),
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    r = run(
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port",
        str(_free_port()),
        "-m",
        "llc_lib",
        "train",
        *args,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("fitted llc") == 1 and "2 process(es)" in r.stdout  # rank 0 alone reports
    ck = list((tmp_path / "runs" / "tinyimagenet" / "ckpt").glob("llc-k16-*.pt"))
    assert len(ck) == 1
    c = torch.load(ck[0], weights_only=True)
    assert c["epoch"] == 1 and c["config"]["max_steps_per_epoch"] == 2 and c["meta"]["scaled"] is False
    assert c["meta"]["feature_dim"] == 2048 and c["meta"]["num_classes"] == 3


def test_unfinished_run_continues_only_with_resume(tmp_path):
    from llc_lib.engine.ckpt import CheckpointError
    from llc_lib.graph.selection import DataSel
    from llc_lib.graph.spec import Arch, Spec
    from llc_lib.graph.workspace import Workspace

    ws = Workspace(tmp_path, torch.device("cpu"), progress=False)
    ws.store.preload((DataSel(), "train"), synthetic_dataset())  # the spec's data, without reading CIFAR
    spec = Spec(CFG, Arch(width=4), DataSel(), label="llc")
    path = ws.ckpt_path(spec)
    train(
        ws.build(spec),
        synthetic_dataset(),
        CFG,
        device=torch.device("cpu"),
        ckpt=path,
        progress=False,
        stop_after_steps=7,
        record={"key": spec.key, "data_sha256": ws.store.digest(spec.data), "inputs": {}},
    )  # 5 steps per epoch: killed during epoch 2
    assert load_checkpoint(path)["epoch"] == 1
    with pytest.raises(CheckpointError, match="pass --resume"):
        ws.fit(spec, resume=False)
    ws.fit(spec, resume=True)
    assert load_checkpoint(path)["epoch"] == 2


def test_amp_is_off_on_cpu():
    import contextlib

    assert isinstance(autocast(torch.device("cpu")), contextlib.nullcontext)


def test_ddp_shard_pads_to_equal_length_even_for_tiny_data():
    from llc_lib.engine.data import shard

    parts = [shard(torch.arange(1), r, 4, pad=True) for r in range(4)]
    assert [len(p) for p in parts] == [1, 1, 1, 1]
    parts = [shard(torch.arange(10), r, 4, pad=True) for r in range(4)]
    assert [len(p) for p in parts] == [3, 3, 3, 3] and set(torch.cat(parts).tolist()) == set(range(10))
    assert sum(len(shard(torch.arange(10), r, 4, pad=False)) for r in range(4)) == 10

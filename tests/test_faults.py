"""Bad input gets one clear error and never destroys data; each fault found by hand has a test here."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from llc_lib.__main__ import main

from conftest import REPO, real_data_or_skip


def test_dangling_data_link_is_named_and_repaired_by_make_data(tmp_path, monkeypatch, capsys):
    from llc_lib.engine import data as D
    from llc_lib.graph.sources import link_shared

    shared = tmp_path / "shared"
    shared.mkdir()
    np.savez(shared / "cifar10_test.npz", images=np.zeros((2, 32, 32, 3), np.uint8))
    root = tmp_path / "data"
    root.mkdir()
    (root / "cifar10_test.npz").symlink_to(tmp_path / "gone.npz")
    with pytest.raises(D.DataError, match="which does not exist.*make data"):
        D.load_ood("cifar10", root)
    link_shared(shared, root)
    assert (root / "cifar10_test.npz").resolve() == (shared / "cifar10_test.npz").resolve()
    assert len(D.load_ood("cifar10", root)) == 2


def test_make_data_fails_on_a_checksum_mismatch(tmp_path, monkeypatch, capsys):

    shared = tmp_path / "shared"
    shared.mkdir()
    z = dict(
        images=np.zeros((100, 32, 32, 3), np.uint8),
        labels=np.arange(100) % 100,
        coarse_labels=np.arange(100) % 20,
        label_names=np.array([f"c{i}" for i in range(100)]),
        coarse_names=np.array([f"s{i}" for i in range(20)]),
        split=np.zeros(100, np.uint8),
    )
    np.savez(shared / "cifar100.npz", **z)
    monkeypatch.setenv("LLC_DATA_DIR", str(tmp_path / "data"))
    assert main(["data", "--shared", str(shared), "--data-dir", str(tmp_path / "data")]) == 2
    out = capsys.readouterr()
    assert "sha256 MISMATCH" in out.out and "differ from the shipped files" in out.err
    assert f"{shared} has no cifar10_test.npz" in out.out  # a partial shared folder is named, nothing downloaded
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

    from llc_lib.config.profiles import get_profile
    from llc_lib.graph.workspace import Workspace
    from llc_lib.results import plots
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
    assert (ctx.figdir / "a.json").read_text().strip().startswith("{") and "_arrays" not in (
        ctx.figdir / "a.json"
    ).read_text()
    assert sorted(p.name for p in ctx.figdir.iterdir()) == ["a.json", "a.pdf", "a.png", "provenance.json"]


def test_decoders_refuse_codes_of_another_length():
    from llc_lib.kernels.decode import ed_decode, mhd_decode
    from llc_lib.kernels.metrics import code_metrics

    inst, cls = np.ones((3, 10)), np.ones((4, 12))
    for fn in (mhd_decode, ed_decode, lambda a, b: code_metrics(a, b, [0, 1, 2])):
        with pytest.raises(ValueError, match="10 bits but class codes 12"):
            fn(inst, cls)


def test_exact_zero_output_is_bit_minus_one_as_binarize_reads_codebooks():
    from llc_lib.kernels.decode import ed_decode

    cls = np.array([[1, -1], [-1, -1]])
    assert ed_decode(np.array([[0.0, -0.5]]), cls)["pred"].tolist() == [1]  # 0 -> -1, as codebook.binarize


def test_make_lab_allows_root():
    r = subprocess.run(["make", "-n", "-C", str(REPO), "lab", f"VENV={sys.prefix}"], capture_output=True, text=True)
    assert "jupyter lab notebooks/" in r.stdout and "--allow-root" in r.stdout


# ------------------------------------------------------------------ --set: honoured or refused, never ignored


def _all_keys(profile) -> set[str]:
    from llc_lib.manifest import notebook_specs

    return {s.key for specs in notebook_specs(profile).values() for top in specs for s in top.ancestors() + [top]}


def _changed(value, key):
    """A valid value other than ``value`` for the field ``key``."""
    special = {
        "real.bits": "16",
        "real.nested": None,
        "schedule": "cosine",
        "codebook_init": "normal",
        "max_steps_per_epoch": "3",
        "bce_bits": "5",
        "csq_centers": "paper",
        "micro_batch": "8",
        "csq_epochs": "2",
    }
    field = key.rpartition(".")[2]
    if key in special or field in special:
        return special.get(key, special.get(field))
    if isinstance(value, bool):
        return str(not value)
    if isinstance(value, int):
        return str(value + 1)
    return str(value * 0.5 if value > 0 else 0.1)


def test_every_run_key_set_reaches_a_spec():
    """Each settable recipe field changes at least one model the profile trains (else it would be ignored)."""
    from llc_lib.config.overrides import apply_sets, settable_keys
    from llc_lib.config.profiles import get_profile

    base = get_profile("smoke")
    before = _all_keys(base)
    for key in (k for k in settable_keys(base) if "." in k):
        run, field = key.split(".")
        new = _changed(getattr(getattr(base, run), field), key)
        sets = ["real.bits=16", "real.nested=8,16"] if key == "real.nested" else [f"{key}={new}"]
        assert _all_keys(apply_sets(base, sets)) != before, f"--set {sets} changed no spec"


@pytest.mark.parametrize(
    "key",
    [
        "llc.bits=20",
        "llc.nested=7,14",
        "llc.seed=1",
        "llc.aux_weight=0",
        "instance.bits=20",
        "hashing.nested=8",
        "real.seed=2",
        "real.mode=llc",
    ],
)
def test_keys_the_run_graph_sets_itself_are_refused(key):
    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile

    with pytest.raises(ValueError, match="sets this itself; change"):
        apply_sets(get_profile("smoke"), [key])


@pytest.mark.parametrize(
    "profile,item,message",
    [
        ("cpu", "bits=100", r"must be integers in 1\.\.64"),
        ("cpu", "llc.lr=nan", "finite"),
        ("cpu", "llc.lr=inf", "finite"),
        ("cpu", "llc.momentum=1.5", r"finite number in \[0, 1\)"),
        ("cpu", "instance.warmup=-0.1", "warmup"),
        ("cpu", "width=0", "width must be"),
        ("cpu", "ood_classes=100", "ood_classes"),
        ("cpu", "retrieval_bits=8,128", "retrieval_bits"),
        ("imagenet", "hashing.lr=0.1", "valid keys"),
        ("cpu", "llc.bce_bits=5", "valid keys"),
        ("cpu", "real.codebook_init=normal", "valid keys"),
        ("smoke", "table_bits=100", "table_bits"),
    ],
)
def test_out_of_range_values_and_unread_keys_are_refused(profile, item, message):
    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile

    with pytest.raises(ValueError, match=message):
        apply_sets(get_profile(profile), [item])


def test_a_bad_set_stops_the_cli_before_anything_trains(tmp_path, capsys):
    assert main(["train", "--profile", "smoke", "--set", "bits=100", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set bits=100") and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("*.pt"))


# ------------------------------------------------------------ only the profile as defined publishes


def test_overrides_write_to_a_variant_folder_and_are_recorded(tmp_path, monkeypatch):
    from llc_lib.config.folders import figures_dir, output_root, runs_root
    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile
    from llc_lib.studies import Context

    monkeypatch.delenv("LLC_FIGURES_DIR", raising=False)
    cpu = get_profile("cpu")
    assert figures_dir(cpu) == REPO / "figures" and output_root(cpu) == runs_root(cpu)
    for variant in (apply_sets(cpu, ["llc.lr=0.1"]), apply_sets(cpu, ["subset=5"]), apply_sets(cpu, ["epochs=1"])):
        assert variant.overrides and figures_dir(variant) != figures_dir(cpu)
        assert REPO / "figures" not in figures_dir(variant).parents
        assert output_root(variant).parent == runs_root(cpu) / "variants"
    monkeypatch.setenv("LLC_FIGURES_DIR", str(tmp_path / "mine"))
    assert figures_dir(cpu) == tmp_path / "mine"
    assert figures_dir(apply_sets(cpu, ["llc.lr=0.1"])) != tmp_path / "mine"
    ctx = Context(apply_sets(get_profile("smoke"), ["llc.lr=0.1"]), None, tmp_path / "fig")
    ctx.save_json({"x": 1}, "a")
    ctx.publish()
    run = json.loads((tmp_path / "fig" / "a.json").read_text())["run"]
    assert run["overrides"] == ["llc.lr=0.1"] and run["profile"] == "smoke"
    assert set(run) == {"profile", "overrides", "data_sha256"}  # nothing host-dependent: the machine is beside it
    machine = json.loads((tmp_path / "fig" / "provenance.json").read_text())["a.json"]
    assert {"cpu", "cpu_capability", "threads", "torch"} <= set(machine)


def test_cli_reproduce_with_overrides_leaves_the_published_results_alone(tmp_path):
    real_data_or_skip()
    assert (
        main(["reproduce", "--profile", "smoke", "--epochs", "1", "--max-steps", "1", "--runs-dir", str(tmp_path)]) == 0
    )
    assert not (tmp_path / "smoke" / "headline_results.json").exists()
    (found,) = (tmp_path / "smoke" / "variants").glob("*/headline_results.json")
    run = json.loads(found.read_text())["run"]
    assert run["overrides"] == ["epochs=1", "max_steps=1"]
    assert run["data_sha256"] and all(len(v) == 64 for v in run["data_sha256"].values())


def test_a_spec_the_profile_cannot_build_stops_the_cli_before_anything_trains(tmp_path, monkeypatch, capsys):
    from llc_lib.graph import plan

    def broken(*a, **k):
        raise ValueError("a spec of this profile is inconsistent")

    monkeypatch.setattr(plan, "fast_codebook", broken)  # built for notebook 01 only, not for `train --what real`
    assert main(["train", "--profile", "smoke", "--what", "real", "--runs-dir", str(tmp_path)]) == 2
    assert "inconsistent" in capsys.readouterr().err and not list(tmp_path.rglob("*.pt"))


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


def test_leftovers_of_an_interrupted_run_are_swept_and_live_ones_kept(tmp_path):
    import socket

    from llc_lib.config.profiles import get_profile
    from llc_lib.graph.workspace import Workspace
    from llc_lib.studies import Context

    host = socket.gethostname()
    dead, me = f"{_dead_pid()}@{host}", f"{os.getpid()}@{host}"
    ckpt, fig = tmp_path / "runs" / "ckpt", tmp_path / "fig"
    for folder in (ckpt, fig):
        folder.mkdir(parents=True)
    old = [
        ckpt / f".real-abc.pt.{dead}.tmp",
        ckpt / f".llc-abc.codebook.npz.{dead}.tmp.npz",
        tmp_path / "runs" / f".headline_results.json.{dead}.tmp",
        fig / f".staging-{dead}",
    ]
    live = [
        ckpt / f".real-abc.pt.{me}.tmp",
        fig / f".staging-{me}",
        ckpt / "real-abc.pt",
        ckpt / f".real-abc.pt.{_dead_pid()}@another-machine.tmp",
    ]  # a writer on a shared folder elsewhere
    for p in old + live:
        p.mkdir() if p.name.startswith(".staging") else p.write_bytes(b"x")
    ws = Workspace(tmp_path / "runs", torch.device("cpu"))
    Context(get_profile("smoke"), ws, fig)
    assert not any(p.exists() for p in old) and all(p.exists() for p in live)


def test_each_command_lists_its_own_options_only(capsys):
    from llc_lib.__main__ import get_args_parser

    def options(command):
        with pytest.raises(SystemExit):
            get_args_parser().parse_args([command, "--help"])
        return capsys.readouterr().out

    train, data, compare = options("train"), options("data"), options("compare")
    assert "--what" in train and "--resume" in train and "--reference" not in train and "--shared" not in train
    assert "--shared" in data and "--what" not in data and "--set" not in data
    assert "--reference" in compare and "--max-steps" not in compare


def test_runs_and_data_folders_are_passed_not_put_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("LLC_RUNS_DIR", raising=False)
    monkeypatch.delenv("LLC_DATA_DIR", raising=False)
    assert main(["eval", "--profile", "smoke", "--runs-dir", str(tmp_path / "r"), "--data-dir", str(tmp_path)]) == 2
    assert "LLC_RUNS_DIR" not in os.environ and "LLC_DATA_DIR" not in os.environ


def test_image_size_on_cifar_is_refused_and_workers_is_no_override():
    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile

    with pytest.raises(ValueError, match="ImageFolder"):
        apply_sets(get_profile("cpu"), ["image_size=64"])
    assert apply_sets(get_profile("cpu"), ["workers=2"]).overrides == ()


# ------------------------------------------------ settings no run can honour: one line naming them, exit code 2


@pytest.mark.parametrize(
    "args,named",
    [
        (["--set", "real.lr=1e308"], "--set real.lr=1e308: lr must be a finite number in [0, 1e+15), got 1e+308"),
        (
            ["--set", "real.weight_decay=1e308"],
            "--set real.weight_decay=1e308: weight_decay must be a finite number in [0, 1)",
        ),
        (["--set", "llc.codebook_lr_mult=1e308"], "codebook_lr_mult must be a finite number in [0, 1000)"),
        (["--set", "aux_weight=1e308"], "--set aux_weight=1e308: aux_weight must be a finite number in [0, 1000)"),
        (
            ["--set", "llc.cutout=40"],
            "--set llc.cutout=40: llc.cutout must lie in 0..32 pixels, the side of the training images",
        ),
        (["--set", "llc.epochs=1e20"], "--set llc.epochs: '1e20' is not an int"),
        (["--set", "llc.epochs=" + "1" + "0" * 20], "epochs of a 'llc' run must lie in 1..10000"),
        (["--epochs", "20000"], "epochs of a 'real' run must lie in 1..10000"),
        (["--set", "warm_epochs=20000"], "--set warm_epochs=20000: warm_epochs must be integers in 1..10000"),
        (["--seed", "-1"], "--seed -1: seeds are integers in 0..4294967295"),
        (["--seed", str(2**32)], f"--seed {2**32}: seeds are integers in 0..4294967295"),
    ],
    ids=[
        "lr",
        "weight_decay",
        "codebook_lr_mult",
        "aux_weight",
        "cutout",
        "epochs_float",
        "epochs_set",
        "epochs_cli",
        "warm_epochs",
        "seed_negative",
        "seed_large",
    ],
)
def test_settings_no_run_can_honour_are_one_line_before_anything_trains(tmp_path, capsys, args, named):
    """Each stops `train` in one line naming the setting and its bound (exit code 2), with nothing written;
    without the bound, lr = 1e308 ends in torch's overflow error and the others train."""
    assert main(["train", "--profile", "smoke", "--max-steps", "1", *args, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and named in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.rglob("*.pt"))


def test_a_seed_outside_its_range_stops_the_seeds_command(tmp_path, capsys):
    assert main(["seeds", "--profile", "smoke", "--seeds", "0", "-3", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "error: --seeds -3: seeds are integers in 0..4294967295\n" and not list(tmp_path.rglob("*.pt"))


def test_a_seed_a_spec_is_built_with_is_checked_by_its_recipe():
    from llc_lib.config.recipe import TrainConfig

    for seed in (-1, 2**32, 0.5, True):
        with pytest.raises(ValueError, match=r"seed must be an integer in 0\.\.4294967295"):
            TrainConfig(seed=seed)
    assert TrainConfig(seed=2**32 - 1).seed == 2**32 - 1


@pytest.mark.parametrize("device,named", [("mps", "has no MPS backend"), ("meta", "runs are made for cpu, cuda")])
def test_a_device_that_is_not_there_or_not_for_runs_is_one_clear_error(tmp_path, capsys, device, named):
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    assert main(["train", "--profile", "smoke", "--device", device, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: device {device!r}") and named in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("*.pt"))


# ------------------------------------------------------------------- a full disk: one line naming the file


def _full_disk(monkeypatch, module, when=lambda path: True):
    """``open`` of ``module`` (a name it looks up among its globals) gives files whose writes put a few bytes on
    disk and then fail as a full disk does (OSError ENOSPC), for the paths ``when`` accepts."""
    import builtins
    import errno

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(bytes(data)[:10] if isinstance(data, (bytes, bytearray, memoryview)) else data[:10])
            self.f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):  # tell, seek, flush ... of the real file
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake(path, mode="r", *args, **kwargs):
        f = builtins.open(path, mode, *args, **kwargs)
        return Full(f) if "w" in mode and when(str(path)) else f

    monkeypatch.setattr(module, "open", fake, raising=False)


def test_a_full_disk_while_writing_json_keeps_the_old_file_and_names_it(tmp_path, monkeypatch):
    from llc_lib.core import files

    path = tmp_path / "results.json"
    path.write_text('{"old": 1}')
    _full_disk(monkeypatch, files)
    with pytest.raises(files.WriteError, match=f"could not write {path}: No space left on device") as e:
        files.write_json({"new": 2}, path)
    assert "\n" not in str(e.value) and isinstance(e.value, OSError)
    assert path.read_text() == '{"old": 1}' and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_full_disk_while_training_is_one_line_naming_the_checkpoint(tmp_path, monkeypatch, capsys):
    """The checkpoint's write fails (ENOSPC): `train` ends in one line naming the checkpoint, exit code 2,
    and leaves neither the checkpoint nor its temporary file."""
    from llc_lib.core import files

    real_data_or_skip()
    _full_disk(monkeypatch, files, when=lambda path: ".pt." in path)
    assert (
        main(
            [
                "train",
                "--profile",
                "smoke",
                "--what",
                "real",
                "--epochs",
                "1",
                "--max-steps",
                "1",
                "--runs-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    (ckpt,) = tmp_path.rglob("ckpt")
    line = err.rstrip("\n").split("\n")[-1].split("\r")[-1]  # after the progress bar
    assert line.startswith(f"error: could not write {ckpt}/real-") and ".pt: No space left on device" in line, err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert not list(ckpt.iterdir()), "a checkpoint or its temporary file is left"


def test_a_full_disk_while_writing_a_codebook_names_it_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    from llc_lib.core import files
    from llc_lib.engine.codebook_file import save_codebook

    path = tmp_path / "ckpt" / "llc-k6.codebook.npz"
    _full_disk(monkeypatch, files)
    with pytest.raises(files.WriteError, match=f"could not write {path}: No space left on device"):
        save_codebook(path, np.ones((3, 6), np.float32))
    assert not list(path.parent.iterdir())


def test_a_full_disk_during_make_data_is_one_line_naming_the_data_file(tmp_path, monkeypatch, capsys):
    """Building cifar10_test.npz fails at its write (ENOSPC): `data` ends in one line naming the file, exit code
    2, and the data folder holds no temporary file."""
    import dataclasses
    import errno

    from llc_lib.engine.data import data_dir
    from llc_lib.graph import sources as S

    real_data_or_skip()
    with np.load(data_dir() / "cifar10_test.npz") as z:
        shipped = {k: z[k] for k in z.files}
    root = tmp_path / "data"
    root.mkdir()
    for f in ("cifar100.npz", "tinyimagenet_test32.npz"):
        (root / f).symlink_to(data_dir() / f)
    monkeypatch.setattr(S, "fetch", lambda name, archives=None, cache=None: tmp_path / "archive.tar.gz")
    monkeypatch.setitem(S.SOURCES, "cifar10", dataclasses.replace(S.SOURCES["cifar10"], convert=lambda p: shipped))

    def full(f, **arrays):
        f.write(b"PK\x03\x04 a few bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    assert main(["data", "--data-dir", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: could not write {root / 'cifar10_test.npz'}: No space left on device"), err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in root.iterdir()) == ["cifar100.npz", "tinyimagenet_test32.npz"]


def test_make_data_sweeps_the_leftovers_of_interrupted_builds(tmp_path, capsys):
    """`kill -9` during a build leaves ``.<file>.<pid>@<host>.tmp`` in the data folder: the next `data` removes
    it (its writer no longer runs) and keeps those of a running writer and of other machines."""
    import socket

    root, shared = tmp_path / "data", tmp_path / "shared"
    root.mkdir(), shared.mkdir()
    host = socket.gethostname()
    dead = root / f".cifar100.npz.{_dead_pid()}@{host}.tmp"
    live = [root / f".cifar100.npz.{os.getpid()}@{host}.tmp", root / f".cifar100.npz.{_dead_pid()}@elsewhere.tmp"]
    for p in [dead, *live]:
        p.write_bytes(b"half a file")
    assert main(["data", "--shared", str(shared), "--data-dir", str(root)]) == 2  # the shared folder is empty
    assert not dead.exists() and all(p.exists() for p in live)
    assert f"removed {dead}, left by an interrupted build" in capsys.readouterr().out


def test_a_full_disk_met_by_a_writer_that_names_no_file_is_still_one_line(tmp_path, monkeypatch, capsys):
    """An OSError of a full disk (ENOSPC) from a writer that does not say which file ends as one line, exit code
    2; any other OSError keeps its traceback."""
    import errno

    from llc_lib.graph import sources as S

    def fail(code):
        def prepare(*args, **kwargs):
            raise OSError(code, os.strerror(code))

        return prepare

    monkeypatch.setattr(S, "prepare_data", fail(errno.ENOSPC))
    assert main(["data", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: [Errno 28] No space left on device; free space") and err.count("\n") == 1
    monkeypatch.setattr(S, "prepare_data", fail(errno.EIO))
    with pytest.raises(OSError, match="Errno 5"):
        main(["data", "--data-dir", str(tmp_path)])

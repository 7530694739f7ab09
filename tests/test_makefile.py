"""`make reproduce` decides what to rebuild from the runs folder ($LLC_RUNS_DIR, else runs/), also when that
folder or the clone has a space in its path. Make runs dry (-n) or as a question (-q) on stub runs folders whose
files are empty and only dated: nothing is trained or executed."""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from llc_lib.manifest import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent


def make(*args, cwd=REPO, runs=None, python=sys.executable):
    """``make`` in ``cwd`` with ``python`` as it is (``VENV=``: no venv, no pip), on the runs folder ``runs``
    ($LLC_RUNS_DIR; None: the default runs/)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LLC_RUNS_DIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    if runs is not None:
        env["LLC_RUNS_DIR"] = str(runs)
    return subprocess.run(
        ["make", "--no-print-directory", *args, "VENV=", f"PYTHON={python}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fake_build(manifest: Path, cwd: Path = REPO) -> int:
    """Create every target of a generated manifest as an empty file, each newer than what it depends on, as a
    finished `make reproduce` leaves them; returns how many."""
    assert manifest.exists(), f"no manifest at {manifest}"
    rules, skip = {}, False
    for line in manifest.read_text().splitlines():
        skip = (skip or line.startswith("ifneq")) and line != "endif"  # the manifest's remake when a seed study appears
        if line and not line.startswith(("#", "\t", "ifneq", "endif", "notebooks:")) and not skip:
            names = [n.replace("\\ ", " ") for n in re.findall(r"(?:\\ |\S)+", line)]
            rules[names[0].removesuffix(":")] = names[1:]
    sources = {d for deps in rules.values() for d in deps if d not in rules}
    base = max((cwd / s).stat().st_mtime for s in sources) + 1

    def depth(t):
        return 1 + max((depth(d) for d in rules[t] if d in rules), default=0)

    for t in rules:
        path = cwd / t
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (base + depth(t), base + depth(t)))
    return len(rules)


def test_a_finished_runs_folder_with_a_space_is_up_to_date_and_a_new_one_is_not(tmp_path):
    built, fresh = tmp_path / "sp ace" / "runs", tmp_path / "new runs"
    assert make("-q", "notebooks", "PROF=smoke", runs=built).returncode == 1  # writes the manifest, nothing else
    manifest = built / "smoke" / "notebooks" / "manifest.mk"
    (target,) = [line for line in manifest.read_text().splitlines() if line.startswith("notebooks:")]
    executed = [n.replace("\\ ", " ") for n in re.findall(r"(?:\\ |\S)+", target)[1:]]
    assert executed == [f"{built}/smoke/notebooks/{nb}.ipynb" for nb in NOTEBOOKS]  # the one list, in its order
    assert fake_build(manifest) > 8  # notebooks and checkpoints
    r = make("-q", "notebooks", "PROF=smoke", runs=built)
    assert r.returncode == 0, r.stdout + r.stderr  # with spaces split, every call would re-run everything

    seeds = built / "smoke" / "figures" / "seeds.json"  # a seed study appears where the smoke figures go
    seeds.parent.mkdir(parents=True, exist_ok=True)
    seeds.write_text("{}")
    # newer than the notebooks fake_build left (up to a few seconds ahead), older than the manifest Make remakes
    later = max(p.stat().st_mtime for p in (built / "smoke" / "notebooks").glob("*.ipynb")) + 1
    time.sleep(max(0.0, later + 1 - time.time()))
    os.utime(seeds, (later, later))
    r = make("-n", "notebooks", "PROF=smoke", runs=built)
    assert r.returncode == 0, r.stderr
    papermill = sorted(set(re.findall(r"notebooks/(\w+)\.ipynb\.tmp\.ipynb", r.stdout)))
    assert papermill == ["02_accuracy_vs_bits", "99_paper_vs_reproduction"], r.stdout  # only its readers re-run
    make("-q", "notebooks", "PROF=smoke", runs=built)  # the manifest now names the seed study
    seeds.unlink()  # moved away: the manifest is made again without it, and Make goes on
    r = make("-n", "notebooks", "PROF=smoke", runs=built)
    assert r.returncode == 0 and "No rule" not in r.stderr, r.stderr

    r = make("-n", "notebooks", "PROF=smoke", runs=fresh)  # LLC_RUNS_DIR decides what is missing
    assert r.returncode == 0, r.stderr
    assert f'"{fresh}/smoke/notebooks/01_train_models.ipynb.tmp.ipynb"' in r.stdout
    assert f'"{fresh}/smoke/notebooks/99_paper_vs_reproduction.ipynb"' in r.stdout
    assert "-m llc_lib fit --profile smoke" in r.stdout and str(built) not in r.stdout


def test_a_clone_and_an_interpreter_with_spaces_in_their_paths(tmp_path):
    clone = tmp_path / "my clone"
    clone.mkdir()
    for name in ("llc_lib", "notebooks"):
        shutil.copytree(REPO / name, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(REPO / name, clone / name)
    python = clone / "py thon"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    r = make("-q", "notebooks", "PROF=smoke", cwd=clone, python=python)
    assert r.returncode == 1, r.stdout + r.stderr  # not built yet; the manifest is written
    manifest = clone / "runs" / "smoke" / "notebooks" / "manifest.mk"
    assert "my clone/llc_lib" not in manifest.read_text()  # names relative to the clone
    assert f"'{python}' -m llc_lib fit --profile smoke" in manifest.read_text()
    fake_build(manifest, clone)
    r = make("-q", "notebooks", "PROF=smoke", cwd=clone, python=python)
    assert r.returncode == 0, r.stdout + r.stderr


def test_reproduce_locks_the_runs_folder_it_writes_to(tmp_path):
    """`make -n reproduce` still runs its recipe (it calls $(MAKE)), whose inner make only prints."""
    runs = tmp_path / "sp ace" / "runs"
    r = make("-n", "reproduce", "PROFILE=smoke", runs=runs)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (runs / ".reproduce.lock").exists()
    assert f'"{runs}/smoke/notebooks/07_ood.ipynb"' in r.stdout
    assert "figures and their JSON: " in r.stdout and "Traceback" not in r.stderr  # where the results are

    with open(runs / ".reproduce.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another `make reproduce` on this runs folder
        r = make("-n", "reproduce", "PROFILE=smoke", runs=runs)
    assert r.returncode != 0, r.stdout + r.stderr
    assert f"another 'make reproduce' is running on this runs folder (lock {runs}/.reproduce.lock)" in r.stdout


def test_lab_honours_profile_and_setup_takes_the_cpu_torch_index(tmp_path):
    """Dry runs: `make lab PROFILE=smoke` starts JupyterLab with that profile; a first set-up with TORCH_INDEX
    installs torch from that index (the CPU-only wheels), shows pip's progress and installs the exact versions of
    constraints.txt."""
    lab = make("-n", "lab", "PROFILE=smoke")
    assert 'LLC_PROFILE="smoke"' in lab.stdout, lab.stdout + lab.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    setup = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "setup",
            f"VENV={tmp_path / 'venv'}",
            "TORCH_INDEX=https://download.pytorch.org/whl/cpu",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert '--index-url "https://download.pytorch.org/whl/cpu" torch torchvision' in setup.stdout, setup.stdout
    assert "--progress-bar on" in setup.stdout
    assert """-c <(grep -E '^torch(vision)?==' "constraints.txt")""" in setup.stdout  # its pins on that index
    assert """ -c "constraints.txt" -e '.[dev]'""" in setup.stdout  # the exact versions (constraints.txt)


def test_each_command_lists_only_its_own_options():
    def usage(*cmd):
        out = subprocess.run(
            [sys.executable, "-m", "llc_lib", *cmd, "--help"], capture_output=True, text=True, cwd=REPO, timeout=60
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    data, train = usage("data"), usage("train")
    assert "--archives" in data and "--profile" not in data and "--resume" not in data
    assert "--resume" in train and "--archives" not in train and "--set" in train


def test_reproduce_refuses_a_profile_the_notebooks_do_not_take_in_one_line(tmp_path):
    """`make reproduce PROFILE=...` takes smoke, cpu, gpu or auto: anything else (a paper-scale profile too) stops
    it with one line of its own and exit code 2, before the runs folder or a manifest is written."""
    for profile, named in (
        ("nonsense", "'nonsense' is not a profile of the notebooks: use smoke, cpu, gpu or auto"),
        (
            "tinyimagenet",
            "; tinyimagenet trains on ImageFolder data through `python -m llc_lib train --profile tinyimagenet`",
        ),
    ):
        runs = tmp_path / profile
        r = make("-n", "reproduce", f"PROFILE={profile}", runs=runs)
        assert r.returncode == 2, r.stdout + r.stderr
        ours = [line for line in r.stderr.splitlines() if not line.startswith("make: ***")]
        assert len(ours) == 1 and ours[0].startswith("make reproduce: ") and named in ours[0], r.stderr
        assert not runs.exists(), sorted(runs.rglob("*"))  # no lock, no manifest.mk.tmp


def test_a_manifest_that_cannot_be_generated_leaves_no_temporary_file(tmp_path):
    """`make notebooks PROF=...` called directly with a profile the manifest refuses: Make stops, and no
    manifest.mk.tmp is left for a later run to trip over."""
    r = make("-n", "notebooks", "PROF=tinyimagenet", runs=tmp_path)
    assert r.returncode != 0
    folder = tmp_path / "tinyimagenet" / "notebooks"
    assert folder.is_dir() and not list(folder.iterdir()), sorted(folder.iterdir())

"""The computations behind the notebooks, one module per study. Each study function takes a ``Context``
and the seed, fits (or loads) its models through the run graph (``plan`` + ``graph``), and returns a
JSON-ready dict with its numbers, its verdicts (``claims``) and the thresholds used; arrays a figure needs
travel under keys starting with '_' (``public`` drops them before saving)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config.profiles import Profile
from ..core.files import staging_dir, sweep_leftovers, write_json
from ..graph import plan
from ..graph.workspace import Workspace

PROVENANCE = "provenance.json"  # beside the results files: the machine that wrote each of them


def run_record(profile: Profile, ws: Workspace | None) -> dict:
    """What every results file records about the run that made it, none of it dependent on the host: the
    profile, its overrides (none for published results) and the hash of every dataset the workspace served.
    The machine is recorded beside the results, in the folder's ``provenance.json`` (``record_provenance``)."""
    return {
        "profile": profile.name,
        "overrides": list(profile.overrides),
        "data_sha256": {} if ws is None else ws.store.used(),
    }


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive ``flock`` on the folder itself (no lock file to leave behind), released on exit."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def record_provenance(folder: Path | str, names, device=None) -> bool:
    """Record the machine that wrote the results files ``names`` (file names) of ``folder``: their entries of
    ``folder/provenance.json`` ({file name: ``device.provenance(device)``: CPU model, kernel instruction set,
    threads, torch, the package versions, device and GPU}, names sorted) become this machine's. Under an
    exclusive lock on the folder, so that notebooks publishing into it at once keep each other's entries; the
    file is rewritten (atomically) only when its content changes, so a re-run on the same machine leaves it
    byte-identical. Returns whether it was rewritten; ValueError naming the file when the one there is not a JSON
    object."""
    from ..engine.device import provenance

    folder, names = Path(folder), sorted(set(names) - {PROVENANCE})
    if not names:
        return False
    path, mine = folder / PROVENANCE, provenance(device)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        try:
            old = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path} could not be read as JSON ({e}); delete it and re-run the notebooks") from e
        if not isinstance(old, dict):
            raise ValueError(
                f"{path} is not a JSON object of {{results file: machine}}; delete it and re-run the notebooks"
            )
        new = dict(sorted({**old, **{n: mine for n in names}}.items()))
        if path.exists() and new == old:
            return False
        write_json(new, path)
        return True


def write_results(obj: dict, path: Path | str, device=None) -> Path:
    """Write the results ``obj`` as JSON to ``path`` (atomically) and record this machine for it in the
    folder's ``provenance.json`` (``record_provenance``); returns the path."""
    path = Path(path)
    write_json(obj, path)
    record_provenance(path.parent, [path.name], device)
    return path


@dataclass
class Context:
    """What a study works with: the profile, the workspace that fits its models, and the figure folder.

    A notebook writes its figures and JSON into ``out``, a staging folder inside ``figdir``, and moves them
    into ``figdir`` with ``publish()`` at its end: a notebook that fails half-way leaves ``figdir`` as it was.
    The JSON files hold nothing that depends on the host; the machine that wrote them goes into
    ``figdir/provenance.json`` (``record_provenance``) when they are published."""

    profile: Profile
    ws: Workspace
    figdir: Path
    progress: bool = True  # print each long step as it starts (``step``)
    _cache: dict = field(default_factory=dict, repr=False)
    _start: float = field(default_factory=time.monotonic, repr=False)

    def __post_init__(self):
        sweep_leftovers(self.figdir)  # staging folders and temporary files of interrupted notebooks

    @property
    def out(self) -> Path:
        path = staging_dir(self.figdir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save_json(self, obj: dict, name: str) -> Path:
        """Write ``public(obj)`` with the ``run_record`` under 'run' to ``out/<name>.json``; returns the path."""
        path = self.out / f"{name}.json"
        write_json({**public(obj), "run": run_record(self.profile, self.ws)}, path)
        return path

    def publish(self) -> list[Path]:
        """Move everything staged in ``out`` into ``figdir`` (each file by an atomic rename) and record this
        machine for every JSON among them in ``figdir/provenance.json`` (``record_provenance``); returns the
        moved paths."""
        staged, moved = self.out, []
        for f in sorted(staged.iterdir()):
            os.replace(f, self.figdir / f.name)
            moved.append(self.figdir / f.name)
        shutil.rmtree(staged, ignore_errors=True)
        record_provenance(
            self.figdir, [p.name for p in moved if p.suffix == ".json"], None if self.ws is None else self.ws.device
        )
        return moved

    def step(self, what: str) -> None:
        """Print ``[m:ss] what``, the time since the context was made, when ``progress`` is on. Studies call it
        as each step that takes a while on a CPU begins, so that a notebook cell running for minutes shows
        where it is."""
        if self.progress:
            t = int(time.monotonic() - self._start)
            print(f"[{t // 60}:{t % 60:02d}] {what}", flush=True)

    def train(self, seed: int, classes: int | None = None):
        return self.ws.store.get(plan.train_data(self.profile, seed, classes), "train")

    def test(self, seed: int, classes: int | None = None):
        return self.ws.store.get(plan.test_data(self.profile, seed, classes), "test")

    def fit(self, spec):
        return self.ws.fit(spec)

    def once(self, key, make):
        """The value cached under ``key`` for the life of this context (e.g. a model's outputs on a split),
        made by ``make()`` the first time."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


def fits(declare):
    """Decorator: the study fits the models ``declare(profile, seed)`` returns (a list of specs; their
    ancestors are fitted with them) at its default parameters. The Make manifest is built from these
    declarations (``manifest.notebook_specs``), and the tests fail when a study fits a model it did not
    declare."""

    def mark(study):
        study.specs = declare
        return study

    return mark


def public(res: dict) -> dict:
    """``res`` without the '_'-prefixed entries (arrays for figures)."""
    return {k: v for k, v in res.items() if not k.startswith("_")}


def check_bits(bits, max_bits: int | None = None) -> list[int]:
    """Validate a list of code lengths (each an int in 1..max_bits); return it sorted. ValueError otherwise."""
    bits = [bits] if isinstance(bits, int) else list(bits)
    bad = [
        k
        for k in bits
        if not isinstance(k, int) or isinstance(k, bool) or k < 1 or (max_bits is not None and k > max_bits)
    ]
    if bad or not bits:
        raise ValueError(f"bit widths must be integers in 1..{max_bits or 'k'}, got {bad or bits}")
    return sorted(bits)


def check_length(bits, max_bits: int | None = None) -> int:
    """Validate one code length (an int in 1..max_bits); return it. ValueError otherwise."""
    return check_int("the code length", bits, 1, max_bits)


def check_ints(name: str, values, low: int = 1) -> list[int]:
    """``values`` as a list if it is a non-empty list or tuple of ints >= low, else ValueError naming it."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list of integers >= {low}, got {values!r}")
    for v in values:
        check_int(name, v, low)
    return list(values)


def check_int(name: str, value, low: int = 1, high: int | None = None) -> int:
    """``value`` if it is an int in low..high, else ValueError naming the parameter."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer in {low}..{high if high is not None else ''}, got {value!r}")
    return value


def check_seed(seed) -> int:
    return check_int("seed", seed, 0)

"""A fresh run's results against a reference (by default the committed ``figures/``), with a verdict.

Same seed, same thread count and the same CPU model (and kernel instruction set, torch version) give
bit-identical numbers: there any difference is a fault. On another machine float rounding differs, training
amplifies it, and the numbers move within the seed-to-seed spread: there each difference is reported in
units of the sample std over seeds (``seeds.json`` of the reference), and one beyond ``MAX_SD`` is a fault;
so is a difference in a number whose spread was never measured, which cannot be judged. Only on another
machine (or an unknown one), a difference within float rounding of the number's own computation is not a
fault: ``|fresh - reference| <= ROUNDING * max(|fresh|, |reference|)``. ``ROUNDING`` = 1e-9 is ~10^7 float64
ulps (2.2e-16 each): a sum of 10^5 terms, or an exp/log kernel a few ulps off, stays far within it, while the
smallest change a different result can make (one test image in 10^4, a printed digit) is 10^-4 relative.

Always a fault, on any machine: a NaN or infinity that the other side does not have, a changed boolean, string
or null (a verdict, a label), a value present on one side only, a reference results file missing from the
fresh folder, and a fresh file that is not JSON. Path parts in ``IGNORED`` hold timings and records, not
results; ``seeds.json`` (the spread) and ``provenance.json`` (the machines) are not results to compare.

The machines come from each folder's ``provenance.json`` (``studies.record_provenance``: {results file:
``device.provenance``}), file by file; a folder without one (or without the file's entry) falls back to the
file's own ``run.provenance`` (a results file that records its machine in its run record), else the machine
is unknown (None). ``python -m llc_lib compare --profile cpu`` compares ``figures/*.json`` as they are on disk
(after a fresh ``make reproduce PROFILE=cpu``) with the versions committed at git HEAD.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

MAX_SD = 3.0  # a difference beyond this many seed standard deviations is not noise
ROUNDING = 1e-9  # relative: a cross-machine difference within this is float rounding, not a different result
SAME_MACHINE = ("cpu", "cpu_capability", "threads", "torch", "device", "gpu")  # what bit-identical numbers need
IGNORED = ("run", "seconds", "time", "wall", "threads")  # path parts that hold timings and records, not results
SEEDS, PROVENANCE = "seeds.json", "provenance.json"  # read, not compared
_MISSING = object()


def leaves(obj, prefix: tuple = ()) -> dict[tuple, object]:
    """{path: value} of every leaf of a JSON value: numbers, booleans, strings and nulls (an empty object or
    list has no leaves)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(leaves(v, prefix + (str(k),)))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(leaves(v, prefix + (str(i),)))
        return out
    return {prefix: obj}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def seed_name(path: tuple) -> str | None:
    """The ``seeds.json`` name of a number whose seed spread is measured: the headline's (``llc.20.ed_acc`` ->
    ``llc_ed_acc@20``, ``real_top1``) and the same-path codebooks' (``methods.svd.14.mhd_acc`` ->
    ``svd_mhd@14``); else None."""
    if path == ("real_top1",):
        return "real_top1"
    if len(path) == 3 and path[0] == "llc":
        return f"llc_{path[2]}@{path[1]}"
    if len(path) == 4 and path[0] == "methods" and path[3] in ("mhd_acc", "ed_acc"):
        return f"{path[1]}_{path[3].removesuffix('_acc')}@{path[2]}"
    return None


def same_machine(a: dict | None, b: dict | None) -> bool | None:
    """Whether two ``device.provenance`` records allow bit-identical results (None: one is unknown)."""
    if not a or not b:
        return None
    return all(a.get(k) == b.get(k) for k in SAME_MACHINE)


def within_rounding(x: float, y: float) -> bool:
    """Whether two finite numbers differ by no more than float rounding: |y - x| <= ROUNDING * max(|x|, |y|)."""
    return abs(y - x) <= ROUNDING * max(abs(x), abs(y))


def compare_files(ref: dict, new: dict, spread: dict[str, float]) -> list[dict]:
    """One row per leaf that differs: {'path', 'reference', 'fresh', 'diff' (fresh - reference where both are
    numbers, else None), 'sd' (diff / seed std, None where no finite positive spread is measured), 'rounding'
    (both finite and ``within_rounding``)}; a leaf present on one side only has the
    other side None and 'absent' naming the side without it. NaN equals NaN."""
    a, b = leaves(ref), leaves(new)
    rows = []
    for path in sorted(set(a) | set(b)):
        if any(part in IGNORED for part in path):
            continue
        x, y = a.get(path, _MISSING), b.get(path, _MISSING)
        if type(x) is type(y) and (x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))):
            continue
        if _number(x) and _number(y) and x == y:  # 1 and 1.0
            continue
        row = {
            "path": ".".join(path),
            "reference": None if x is _MISSING else x,
            "fresh": None if y is _MISSING else y,
            "diff": None,
            "sd": None,
            "rounding": False,
        }
        if x is _MISSING or y is _MISSING:
            row["absent"] = "reference" if x is _MISSING else "fresh"
        elif _number(x) and _number(y):
            row["diff"] = diff = float(y) - float(x)
            std = spread.get(seed_name(path) or "")
            if std is not None and math.isfinite(std) and std > 0:
                row["sd"] = diff / std
            row["rounding"] = math.isfinite(diff) and within_rounding(float(x), float(y))
        rows.append(row)
    return rows


def is_fault(row: dict, machine: bool | None) -> bool:
    """Whether a differing leaf (a ``compare_files`` row) is a fault, the machines being the same (True),
    different (False) or unknown (None): see the module docstring."""
    if row["diff"] is None or not math.isfinite(row["diff"]):
        return True  # one side only, a changed boolean/string/null, a NaN or infinity
    if machine:
        return True  # the same machine gives bit-identical numbers
    if row["rounding"]:
        return False
    return row["sd"] is None or abs(row["sd"]) > MAX_SD


class Folder:
    """A folder of results files as a reference: ``names()`` its JSON files, ``read(name)`` one of them."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*.json"))

    def read(self, name: str):
        """The parsed JSON ``name`` (None when there is no such file); ValueError naming a file that is not
        JSON."""
        path = self.folder / name
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path} is not JSON ({e})") from None

    def __str__(self):
        return str(self.folder)


class Committed:
    """The results files of ``folder`` as committed at git revision ``rev`` (default HEAD) of ``repo``.
    ValueError when git is not installed."""

    def __init__(self, repo: Path | str, folder: Path | str, rev: str = "HEAD"):
        self.repo, self.rev = Path(repo), rev
        self.rel = Path(folder).resolve().relative_to(self.repo.resolve()).as_posix()

    def _git(self, *args) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["git", "-C", str(self.repo), *args], capture_output=True, text=True)
        except FileNotFoundError:
            raise ValueError(
                "git is not installed, so the committed figures cannot be read; give --reference "
                "FOLDER (e.g. a clean checkout's figures/)"
            ) from None

    def names(self) -> list[str]:
        """The JSON files directly in the folder at ``rev`` (``git ls-tree``); ValueError when git fails."""
        r = self._git("ls-tree", "--name-only", self.rev, f"{self.rel}/")
        if r.returncode:
            raise ValueError(f"git ls-tree {self.rev} {self.rel}/ failed: {r.stderr.strip()}")
        return sorted(Path(line).name for line in r.stdout.splitlines() if line.endswith(".json"))

    def read(self, name: str):
        """The parsed JSON ``name`` at ``rev`` (None when it is not in git); ValueError naming a file that is
        not JSON."""
        r = self._git("show", f"{self.rev}:{self.rel}/{name}")
        if r.returncode:
            return None
        try:
            return json.loads(r.stdout)
        except json.JSONDecodeError as e:
            raise ValueError(f"{self.rel}/{name} at {self.rev} is not JSON ({e})") from None

    def __str__(self):
        return f"{self.rel}/ at git {self.rev}"


def _machines(side, names: list[str], data: dict[str, object]) -> dict[str, dict | None]:
    """{name: the ``device.provenance`` of the machine that wrote it}, from the side's provenance file, else the
    file's own ``run.provenance``, else None."""
    table = side.read(PROVENANCE)
    table = table if isinstance(table, dict) else {}
    out = {}
    for n in names:
        own = data.get(n)
        run = own.get("run") if isinstance(own, dict) else None
        out[n] = table.get(n) or (run.get("provenance") if isinstance(run, dict) else None)
    return out


def compare(fresh: Path | str, reference) -> dict:
    """Compare every results JSON of the fresh folder with the reference's. ``reference``: a folder, or an
    object with ``names()`` and ``read(name)`` (``Committed``, ``Folder``). Returns {'machine': {name: True
    (same machine) / False / None (unknown)}, 'files': {name: ``compare_files`` rows}, 'absent': [reference
    files missing from the fresh folder], 'unreferenced': [fresh files the reference does not have],
    'unreadable': {name: why} of fresh files that are not JSON, 'faults': ['file:path' or 'file'], 'ok': bool}.
    ValueError when there is nothing to compare."""
    new = Folder(fresh)
    old = reference if hasattr(reference, "names") else Folder(reference)
    skip = {SEEDS, PROVENANCE}
    fresh_names = [n for n in new.names() if n not in skip]
    ref_names = [n for n in old.names() if n not in skip]
    absent = [n for n in ref_names if n not in fresh_names]
    unreferenced = [n for n in fresh_names if n not in ref_names]
    common = [n for n in fresh_names if n in ref_names]
    if not common and not absent:
        raise ValueError(
            f"nothing to compare: no results JSON in {fresh} or in the reference ({old}); run the "
            f"notebooks first, or give the reference folder"
        )
    spread = {
        k: v.get("std")
        for k, v in ((old.read(SEEDS) or {}).get("numbers", {})).items()
        if isinstance(v, dict) and _number(v.get("std"))
    }
    ref_data, new_data, unreadable = {n: old.read(n) for n in common}, {}, {}
    for n in common:
        try:
            new_data[n] = new.read(n)
        except ValueError as e:
            unreadable[n] = str(e)
    ours, theirs = _machines(new, common, new_data), _machines(old, common, ref_data)
    machine = {n: same_machine(theirs[n], ours[n]) for n in common}
    files, faults = {}, [f"{n}: missing from the fresh folder" for n in absent]
    faults += [f"{n}: {why}" for n, why in unreadable.items()]
    for n in common:
        if n in unreadable:
            continue
        files[n] = compare_files(ref_data[n], new_data[n], spread)
        faults += [f"{n}:{r['path']}" for r in files[n] if is_fault(r, machine[n])]
    return {
        "machine": machine,
        "files": files,
        "absent": absent,
        "unreferenced": unreferenced,
        "unreadable": unreadable,
        "faults": faults,
        "ok": not faults,
    }


_VERDICT = {
    True: "same machine as the reference: numbers must be bit-identical",
    False: f"another machine than the reference: differences are judged against the seed spread (beyond "
    f"{MAX_SD:g} sd, or without a measured spread, is a fault) unless within float rounding "
    f"(relative {ROUNDING:g})",
    None: f"the reference or the fresh file does not record its machine: differences are judged as on "
    f"another machine (seed spread, float rounding {ROUNDING:g})",
}


def format_report(res: dict) -> str:
    """The comparison as text: the machine verdict (per file where the files differ in it), then per file
    'bit-identical' or its differences, the files missing or unreadable, and the verdict."""
    verdicts = set(res["machine"].values())
    if len(verdicts) == 1:
        lines = [_VERDICT[verdicts.pop()]]
    else:
        lines = [
            f"{_VERDICT[v]}: {', '.join(n for n, m in res['machine'].items() if m is v)}"
            for v in (True, False, None)
            if v in verdicts
        ]
    for n, rows in res["files"].items():
        if not rows:
            lines.append(f"{n}: bit-identical")
            continue
        lines.append(f"{n}: {len(rows)} value(s) differ")
        for r in rows:
            if "absent" in r:
                why = f"not in the {r['absent']}"
            elif r["diff"] is None:
                why = "changed"
            elif not math.isfinite(r["diff"]):
                why = "not finite"
            elif r["rounding"] and res["machine"].get(n) is not True:
                why = "within float rounding"
            else:
                why = "no seed spread measured" if r["sd"] is None else f"{r['sd']:+.2f} sd"
            lines.append(f"  {r['path']}: {r['reference']!r} -> {r['fresh']!r} ({why})")
    for n, why in res["unreadable"].items():
        lines.append(f"{n}: unreadable: {why}")
    if res["absent"]:
        lines.append(f"in the reference but missing from the fresh folder: {', '.join(res['absent'])}")
    if res["unreferenced"]:
        lines.append(f"not in the reference (not compared): {', '.join(res['unreferenced'])}")
    lines.append(
        "verdict: "
        + (
            "consistent"
            if res["ok"]
            else f"{len(res['faults'])} fault(s): "
            + ", ".join(res["faults"][:10])
            + (" ..." if len(res["faults"]) > 10 else "")
        )
    )
    return "\n".join(lines)

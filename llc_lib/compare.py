"""A fresh run's numbers against a reference (by default the committed ``figures/``), with a verdict.

Same seed, same thread count and the same CPU model (and kernel instruction set, torch version) give
bit-identical numbers: there any difference is a fault. On another machine float rounding differs, training
amplifies it, and the numbers move within the seed-to-seed spread: there each difference is reported in
units of the sample std over seeds (``seeds.json`` of the reference), and one beyond ``MAX_SD`` is a fault;
so is a difference in a number whose spread was never measured, which cannot be judged.

``python -m llc_lib compare --profile cpu`` compares ``figures/*.json`` as they are now (after a fresh
``make reproduce PROFILE=cpu``) with the versions committed at git HEAD.
"""
from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

MAX_SD = 3.0  # a difference beyond this many seed standard deviations is not noise
SAME_MACHINE = ("cpu", "cpu_capability", "threads", "torch", "device", "gpu")  # what bit-identical numbers need
IGNORED = ("run", "seconds", "time", "wall", "threads")  # path parts that hold timings and records, not results


def leaves(obj, prefix: tuple = ()) -> dict[tuple, float]:
    """{path: number} of every int/float leaf of a JSON value (booleans and strings left out)."""
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
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return {prefix: float(obj)}
    return {}


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


def compare_files(ref: dict, new: dict, spread: dict[str, float]) -> list[dict]:
    """One row per number that differs: {'path', 'reference', 'fresh', 'diff', 'sd' (diff / seed std, or
    None where no spread is measured)}; a number present on one side only has the other side None."""
    a, b = leaves(ref), leaves(new)
    rows = []
    for path in sorted(set(a) | set(b)):
        if any(part in IGNORED for part in path):
            continue
        x, y = a.get(path), b.get(path)
        if x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y)):
            continue
        diff = None if x is None or y is None else y - x
        std = spread.get(seed_name(path) or "")
        sd = None if diff is None or not std else diff / std
        rows.append({"path": ".".join(path), "reference": x, "fresh": y, "diff": diff, "sd": sd})
    return rows


def committed(repo: Path, folder: Path, name: str, rev: str = "HEAD") -> dict | None:
    """The JSON ``folder/name`` as committed at ``rev`` (None when it is not in git). ValueError when git is
    not installed."""
    rel = (folder / name).resolve().relative_to(repo.resolve())
    try:
        r = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{rel.as_posix()}"], capture_output=True,
                           text=True)
    except FileNotFoundError:
        raise ValueError("git is not installed, so the committed figures cannot be read; give --reference FOLDER "
                         "(e.g. a clean checkout's figures/)") from None
    return json.loads(r.stdout) if r.returncode == 0 else None


def _reader(folder: Path):
    folder = Path(folder)
    return lambda name: json.loads((folder / name).read_text()) if (folder / name).exists() else None


def compare(fresh: Path, reference) -> dict:
    """Compare every JSON of the fresh folder with the reference's. ``reference``: a folder, or a callable
    name -> dict | None (e.g. the committed versions). The machines are compared through the headline's run
    record. Returns {'machine': True/False/None, 'files': {name: rows}, 'missing': [names without a
    reference], 'faults': ['file:path', ...], 'ok': bool}."""
    new, old = _reader(fresh), reference if callable(reference) else _reader(reference)
    names = sorted(p.name for p in Path(fresh).glob("*.json") if p.name != "seeds.json")
    spread = {k: v["std"] for k, v in ((old("seeds.json") or {}).get("numbers", {})).items()}
    machine = same_machine(*((f("headline_results.json") or {}).get("run", {}).get("provenance") for f in (old, new)))
    files, missing, faults = {}, [], []
    for n in names:
        ref = old(n)
        if ref is None:
            missing.append(n)
            continue
        files[n] = compare_files(ref, new(n), spread)
        faults += [f"{n}:{r['path']}" for r in files[n] if machine or r["diff"] is None
                   or r["sd"] is None or abs(r["sd"]) > MAX_SD]
    if not files:
        raise ValueError(f"nothing to compare: no JSON in {fresh} has a reference version; run the notebooks "
                         f"first, or give the reference folder")
    return {"machine": machine, "files": files, "missing": missing, "faults": faults, "ok": not faults}


def format_report(res: dict) -> str:
    """The comparison as text: the machine verdict, then per file 'identical' or its differences."""
    m = {True: "same machine as the reference: numbers must be bit-identical",
         False: f"another machine than the reference: differences are judged against the seed spread "
                f"(beyond {MAX_SD:g} sd, or without a measured spread, is a fault)",
         None: f"the reference does not record its machine: differences are judged against the seed spread "
               f"(beyond {MAX_SD:g} sd, or without a measured spread, is a fault)"}[res["machine"]]
    lines = [m]
    for n, rows in res["files"].items():
        if not rows:
            lines.append(f"{n}: bit-identical")
            continue
        lines.append(f"{n}: {len(rows)} number(s) differ")
        for r in rows:
            sd = "no seed spread measured" if r["sd"] is None else f"{r['sd']:+.2f} sd"
            lines.append(f"  {r['path']}: {r['reference']} -> {r['fresh']} ({sd})")
    if res["missing"]:
        lines.append(f"not in the reference: {', '.join(res['missing'])}")
    lines.append("verdict: " + ("consistent" if res["ok"] else f"{len(res['faults'])} fault(s): "
                                + ", ".join(res["faults"][:10]) + (" ..." if len(res["faults"]) > 10 else "")))
    return "\n".join(lines)

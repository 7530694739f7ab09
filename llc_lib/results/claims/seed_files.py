"""Per-seed results files and the seed study they are assembled into (``python -m llc_lib seeds --files``):
the seeds of a recipe trained one at a time, each committed as its study's own results file.

Three studies write such a file, told apart by what it holds:

- 'headline' (``studies.headline.reproduce``; it has 'llc' rows): 'real_top1' and 'llc_<m>@<k>' for every m of
  ``headline.SEED_FILE_METRICS``; the file names its models under 'checkpoints';
- 'ood' (``studies.ood.ood_study``, notebook 07; it has 'sets'): ``ood.seed_numbers``; under 'checkpoints';
- 'equal_budget' (``studies.accuracy.equal_budget_study``, and notebook 02's results; it has
  'real_top1_equal_budget'): ``accuracy.equal_budget_numbers``; under 'equal_budget_checkpoints'.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .accuracy import equal_budget_numbers
from .common import SeedStudy, usable_seed_numbers, values_by_seed
from .headline import SEED_FILE_METRICS
from .ood import seed_numbers as ood_seed_numbers

STUDIES = ("headline", "ood", "equal_budget")  # in the order their files are listed

THRESHOLDS: dict = {}  # it assembles numbers and judges none


def study_of(content: dict[str, Any]) -> str | None:
    """Which study wrote a per-seed results file (one of ``STUDIES``), None for any other file."""
    if "llc" in content:
        return "headline"
    if "sets" in content:
        return "ood"
    if "real_top1_equal_budget" in content:
        return "equal_budget"
    return None


def checkpoints_of(study: str, content: dict[str, Any]) -> dict[str, str] | None:
    """{role: checkpoint name} a per-seed results file of ``study`` says its numbers come from."""
    return content.get("equal_budget_checkpoints" if study == "equal_budget" else "checkpoints")


def numbers_of(study: str, content: dict[str, Any]) -> dict[str, float]:
    """The numbers a per-seed results file of ``study`` gives a seed study, named as the seed study names them."""
    if study == "ood":
        return ood_seed_numbers(content)
    if study == "equal_budget":
        return equal_budget_numbers(content)
    out = {"real_top1": float(content["real_top1"])}
    out.update({f"llc_{m}@{k}": float(row[m]) for k, row in content["llc"].items() for m in SEED_FILE_METRICS})
    return out


def _check(path: str, study: str | None, h: dict, seeds: SeedStudy, expected, taken) -> None:
    """ValueError naming ``path`` when it may not join the seed study (see ``with_seed_files``)."""
    s, prof = h.get("seed"), seeds["profile"]
    if study is None:
        raise ValueError(f"{path} is not a per-seed results file (of the headline, the OOD study or the equal budget)")
    if h.get("profile") != prof:
        raise ValueError(f"{path} is of profile {h.get('profile')!r}, the seed study of {prof!r}")
    if s in taken:
        raise ValueError(f"{path} is a second results file of seed {s} of the {study} (the other: {taken[s][0]})")
    if (study, s) not in expected:
        raise ValueError(f"{path} is of seed {s}, which is not one of the seeds asked for")
    if checkpoints_of(study, h) != expected[study, s]:
        raise ValueError(
            f"{path} was made by another recipe ({checkpoints_of(study, h)}) than the profile's "
            f"({expected[study, s]}); make it again: python -m llc_lib reproduce --profile {prof} --seed {s} "
            f"--study {study}"
        )
    lacking = sorted({m for row in h.get("llc", {}).values() for m in SEED_FILE_METRICS if m not in row})
    if study == "headline" and (lacking or not h.get("llc")):
        raise ValueError(
            f"{path} lacks {', '.join(lacking) or 'the llc rows'} (an older evaluation); evaluate it again: "
            f"python -m llc_lib eval --profile {prof} --seed {s}"
        )


# what every OOD file of one seed study must share besides the recipe: the numbers its row reads depend on them
OOD_SETUP = ("ood_bits", "ns", "repeats", "id_classes")


def _same_setup(ood_files: dict[int, tuple[str, dict]]) -> None:
    """ValueError naming the file whose OOD study ran with another setup (``OOD_SETUP``, or other OOD sets) than
    the first seed's."""
    if not ood_files:
        return
    first_path, first = ood_files[min(ood_files)]
    for path, h in (ood_files[s] for s in sorted(ood_files)):
        for key, a, b in [(k, h.get(k), first.get(k)) for k in OOD_SETUP] + [
            ("sets", list(h["sets"]), list(first["sets"]))
        ]:
            if a != b:
                raise ValueError(
                    f"{path} was made with {key} {a!r}, {first_path} with {b!r}; make both with the notebook's "
                    "setup: python -m llc_lib reproduce --study ood"
                )


def with_seed_files(
    seeds: SeedStudy, files: dict[str, dict[str, Any]], expected: dict[tuple[str, int], dict[str, str]]
) -> SeedStudy:
    """``seeds`` (a ``seeds.json``) with the numbers of per-seed results files: ``files`` ({path: the file's
    content}), at most one file of each study per seed. ``expected`` ({(study, seed): {role: checkpoint name}},
    ``graph.plan.seed_file_checkpoints``) is the recipe the files must be of: a file of another profile or
    recipe, a second file of one study and seed, a seed ``expected`` does not name, a study with fewer than two
    seeds' files, or OOD files of different setups (``OOD_SETUP``) is refused (ValueError naming the file).

    A number the seed study measured from the same checkpoints as the first headline file's (its class codes,
    by ``usable_seed_numbers``) keeps the study's values of the seeds no file gives; every other number is the
    files' alone. Each number records its 'seeds'; each seed's 'checkpoints' gain its files', so a number is
    matched to results by ``usable_seed_numbers`` as any other. The study's own numbers and checkpoints are kept
    under 'study_numbers' and 'study_checkpoints', and every assembly starts from them, so a file given earlier
    and not now leaves nothing behind."""
    if not files:
        raise ValueError("a spread needs the results files of at least two seeds, got none")
    by_study: dict[str, dict[int, tuple[str, dict]]] = {name: {} for name in STUDIES}
    for path, h in sorted(files.items()):
        kind = study_of(h)
        _check(path, kind, h, seeds, expected, by_study.get(kind, {}))
        by_study[kind][h["seed"]] = (path, h)
    for kind, got in by_study.items():
        if len(got) == 1:
            raise ValueError(f"a spread needs the {kind} results files of at least two seeds, got {sorted(got)}")
    _same_setup(by_study["ood"])

    base = {**seeds, "numbers": seeds.get("study_numbers", seeds["numbers"])}
    base["checkpoints"] = seeds.get("study_checkpoints", seeds.get("checkpoints"))
    heads = by_study["headline"]
    kept = (
        usable_seed_numbers(base, min(heads), heads[min(heads)][1].get("number_checkpoints", {}))[0] if heads else None
    )
    numbers = dict(base["numbers"])
    checkpoints = {seed: list(names) for seed, names in (base["checkpoints"] or {}).items()}
    for kind, got in by_study.items():
        for s, (_, h) in got.items():
            checkpoints[str(s)] = sorted(set(checkpoints.get(str(s), [])) | set(checkpoints_of(kind, h).values()))
        per_seed = {s: numbers_of(kind, h) for s, (_, h) in got.items()}
        for name in per_seed[min(per_seed)] if per_seed else ():
            values = values_by_seed(kept, name) if kept and name in kept["numbers"] else {}
            values.update({s: per_seed[s][name] for s in per_seed})
            runs = sorted(values)
            v = np.array([values[s] for s in runs])
            numbers[name] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "values": v.tolist(), "seeds": runs}
    return {
        **seeds,
        "numbers": numbers,
        "checkpoints": checkpoints,
        "seed_files": [got[s][0] for got in by_study.values() for s in sorted(got)],
        "study_numbers": base["numbers"],
        "study_checkpoints": base["checkpoints"],
    }

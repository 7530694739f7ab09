"""What the claims of every study share: the paper's numbers (``PAPER``), the rule that judges a claim over
seeds (``NOISE_RULE``: ``seed_verdict`` on a seed study, ``usable_seed_numbers`` says which of its numbers may
judge), the report's row (``Row``) and the one name of LLC's codebook after the baselines' Phase 2
(``SAME_PATH_LLC``).

A verdict is True, False, "within noise" (over seeds) or None (numbers missing).
"""

from __future__ import annotations

from typing import Final, TypedDict

import numpy as np

PAPER = {
    "dataset": "ImageNet-1K, ResNet50, 20 bits (= 2 log2 1000)",
    "real_top1": 77.0,
    "codebooks": {  # method: (unique codes of 1000, ED %, MHD %)
        "Random": (1000, 64.07, 66.91),
        "CCA": (813, 55.17, 57.03),
        "SVD": (969, 65.12, 69.18),
        "LLC": (1000, 68.82, 74.57),
    },
    # ImageNet-100 retrieval, ResNet50, MAP@1000 (talk slides); the HashNet comparison used AlexNet
    "retrieval": {
        "llc": {10: 64.07, 64: 67.73},
        "real": {8: 50.41, 10: 66.57, 64: 77.94},
        "llc16_over_hashnet16": 15,
    },  # "by ~15 points" (AlexNet backbone)
    "bits_right": 19.2,  # of 20: instance codes of ImageNet-1K validation images
    "class_code_top1": 75.5,  # 20-bit ResNet50, class-code logits (../shared/paper/README.md)
    "statements": {  # the paper's qualitative claims, as our report quotes them
        "separability": "Hamming separability implies linear separability",
        "interpretability": "no: a bit mixes unrelated classes",
        "ood": "LLC (0 samples) as accurate as a baseline tuned on ~3000 samples",
        "taxonomy": "qualitative (an intuitive hierarchy)",
        "fast_codebook": "a codebook learnt with less data and a smaller network loses little accuracy",
    },
}

THRESHOLDS = {
    "seed_alpha": 0.05,  # one-sided level of the paired t-test over seeds (``seed_verdict``)
}

NOISE_RULE = (
    "Over seeds, a difference holds (or fails) only when a one-sided paired t-test over the seeds rejects "
    "at level 0.05 (t beyond the 95th percentile of Student's t with n - 1 degrees of freedom: 2.92 x the "
    'standard error for 3 seeds); otherwise it is "within noise". A row measured on one seed has no '
    "spread: its verdict compares the numbers against the row's threshold."
)

Verdict = bool | str | None

SEEDS: Final = "seeds"  # the seed study's results file (``studies.headline.seeds_study``, ``make seeds``)
RUN: Final = "run"  # in every results file: the run that made it (``studies.run_record``)
SAME_PATH_LLC: Final = "llc_same_path"  # LLC's codebook frozen into the real-valued backbone, then the same Phase 2


def same_path_key(codebook: str) -> str:
    """The name of ``codebook``'s ('llc', 'svd', 'random', 'cca') results after the same Phase 2 as the others:
    its own name, except LLC's (``SAME_PATH_LLC``), since 'llc' is LLC's own path (its Phase 1, then Phase 2)."""
    return SAME_PATH_LLC if codebook == "llc" else codebook


class _RowNeeds(TypedDict):
    claim: str
    paper: str  # what the paper reports
    ours: str  # what we measured
    holds: Verdict


class Row(_RowNeeds, total=False):
    """One claim of the paper-vs-reproduction report."""

    seeds: Verdict  # the verdict over the seeds of the seed study, where it judges the row (``judge_over_seeds``)
    holds_one_seed: Verdict  # the one-seed verdict, where the seeds' replaced it
    over_seeds: int  # how many seeds its 'seeds' verdict is over, when not all the study's


class Stat(TypedDict, total=False):
    mean: float
    std: float  # sample standard deviation (ddof=1)
    values: list[float]  # one per seed
    seeds: list[int]  # the seeds of ``values`` when they are not all the study's (numbers from per-seed files)


class SeedStudy(TypedDict):
    """A seed study (``studies.headline.seeds_study``): the claims' numbers, named '<number>@<k>', over seeds."""

    profile: str
    seeds: list[int]
    table_bits: int
    numbers: dict[str, Stat]
    checkpoints: dict[str, list[str]]  # seed: the names of the checkpoints its numbers come from


class Judged(TypedDict, total=False):
    """A results file that carries its study's own verdict: its summary, the paper's statement and the verdict."""

    summary: str
    paper: str
    holds: Verdict


def judged_row(claim: str, results: Judged | None) -> list[Row]:
    """The row of ``claim`` from a results file that carries its own verdict (``Judged``): none without its
    summary; the paper's side is 'qualitative' where the file quotes no statement of the paper."""
    if not results or "summary" not in results:
        return []
    return [
        Row(claim=claim, paper=results.get("paper", "qualitative"), ours=results["summary"], holds=results.get("holds"))
    ]


def mean_std(stat: Stat, scale: float = 100.0) -> str:
    """'mean ± std' of a {'mean', 'std'} statistic over seeds, times ``scale`` (100: fractions in %)."""
    return f"{scale * stat['mean']:.2f} ± {scale * stat['std']:.2f}"


def seed_count(seeds: SeedStudy) -> int:
    """How many seeds a seed study ran."""
    return len(seeds["seeds"])


def judge_over_seeds(rows: list[Row], seeds: SeedStudy | None) -> list[Row]:
    """Where the seed study judges a row (its 'seeds' is not None), that verdict becomes the row's 'holds', the
    one-seed verdict moves to 'holds_one_seed', 'over_seeds' says how many seeds it is over (the row's own count,
    else the study's) and 'ours' says so; every other row loses its 'seeds'. In place; returns ``rows``."""
    for r in rows:
        n = r.pop("over_seeds", None) or (seed_count(seeds) if seeds else 0)
        if r.get("seeds") is not None:
            r["holds_one_seed"], r["holds"] = r["holds"], r.pop("seeds")
            r["ours"] += f" (seed 0; verdict over {n} seeds)"
            r["over_seeds"] = n
        else:
            r.pop("seeds", None)
    return rows


def usable_seed_numbers(seeds: dict | None, seed, sources: dict[str, list[str]]) -> tuple[dict | None, str]:
    """The part of a seed study (a ``seeds.json``) that may judge results of ``seed`` whose numbers come from
    ``sources`` ({number name without its '@k': the names of the checkpoints it is computed from}): the study
    with only the numbers whose every checkpoint it ran at ``seed`` (None when no number is left), and a
    sentence saying what was left out and why ('' when nothing was). A number ``sources`` does not name is left
    out. The only rule that matches a seed study to results: a seed study of other checkpoints (another
    recipe, or other runs of it) must not judge them or draw their error bars, and a change of Phase 2 leaves
    the class-code numbers of a seed study usable."""
    if not seeds:
        return None, "there is no seed study (`make seeds` makes one)"
    ran = (seeds.get("checkpoints") or {}).get(str(seed))
    if ran is None:
        return None, (
            f"`seeds.json` does not record the checkpoints of seed {seed}, so it cannot be matched to "
            "these results; `make seeds` re-makes it from the current checkpoints"
        )
    keep, left_out, lacks = {}, set(), set()
    for name, stat in (seeds.get("numbers") or {}).items():
        need = sources.get(name.split("@")[0])
        if need is not None and set(need) <= set(ran):
            keep[name] = stat
        else:
            left_out.add(name.split("@")[0])
            lacks |= set(need or ()) - set(ran)
    lacking = f" (it lacks {', '.join(sorted(lacks))})" if lacks else ""
    if not keep:
        return None, (
            f"`seeds.json` was made from other checkpoints{lacking}; `make seeds` re-makes it from the current ones"
        )
    why = (
        (
            f"`seeds.json` was made from other checkpoints for {', '.join(sorted(left_out))}{lacking}, which it "
            "therefore does not judge; `make seeds` re-makes them"
        )
        if left_out
        else ""
    )
    return {**seeds, "numbers": keep}, why


def values_by_seed(seeds: dict, name: str) -> dict[int, float]:
    """{seed: value} of the number ``name`` of a seed study: over its own 'seeds' where it records them (a number
    taken from per-seed files), else over the study's."""
    stat = seeds["numbers"][name]
    return dict(zip(stat.get("seeds", seeds["seeds"]), stat["values"]))


def seeds_of(seeds: dict | None, *names: str) -> list[int]:
    """The seeds every one of the numbers ``names`` of a seed study has ([] when one of them is missing)."""
    n = (seeds or {}).get("numbers", {})
    if not names or any(x not in n for x in names):
        return []
    return sorted(set.intersection(*(set(values_by_seed(seeds, x)) for x in names)))


def seed_verdict(seeds: dict | None, a: str, b: str | float, margin: float = 0.0) -> Verdict:
    """Verdict of "a - b > margin" from a ``seeds.json`` (``studies.headline.seeds_study``) by ``NOISE_RULE``:
    the paired differences d = a - b - margin over the seeds both numbers have (``b`` a number's name, or a
    constant such as a goal); True when mean(d) / (sd(d) / sqrt(n)) exceeds the
    one-sided t quantile at ``THRESHOLDS['seed_alpha']``, False when it is below minus that, else "within
    noise" (also with fewer than two seeds). None when the file or either number is missing."""
    from scipy.stats import t as student_t

    n = (seeds or {}).get("numbers", {})
    if a not in n or (isinstance(b, str) and b not in n):
        return None

    if isinstance(b, str):  # paired over the seeds both numbers have
        va, vb = values_by_seed(seeds, a), values_by_seed(seeds, b)
        d = np.array([va[s] - vb[s] for s in seeds_of(seeds, a, b)], float) - margin
    else:
        d = np.asarray(n[a]["values"], float) - b - margin
    if len(d) < 2:
        return "within noise"
    se = d.std(ddof=1) / np.sqrt(len(d))
    crit = student_t.ppf(1 - THRESHOLDS["seed_alpha"], len(d) - 1)
    if se == 0:
        return "within noise" if d.mean() == 0 else bool(d.mean() > 0)
    t = d.mean() / se
    return "within noise" if abs(t) <= crit else bool(t > 0)


def combine(verdicts) -> Verdict:
    """All of several verdicts: False if any fails, "within noise" if any is, None if any is missing."""
    verdicts = list(verdicts)
    if any(v is None for v in verdicts):
        return None
    if any(v is False for v in verdicts):
        return False
    return "within noise" if any(isinstance(v, str) for v in verdicts) else True

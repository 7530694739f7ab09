"""Claims of the OOD study (``studies.ood.ood_study``, notebook 07): LLC's ED detects out-of-distribution images
with no sample as accurately as a threshold tuned on many; the OOD table."""

from __future__ import annotations

from typing import Final, TypedDict

from .common import Judged, Row, SeedStudy, Verdict, combine, judged_row, mean_std, seed_verdict, seeds_of

RESULTS: Final = "07_ood"  # notebook 07's results file

THRESHOLDS = {
    "ood_samples_to_match": 1000,  # a tuned baseline needs at least this many samples to match ED
}

MSP: Final = "MSP"  # the tuned baseline the claim is judged against, by its name in the results
BASELINES: Final = (MSP, "energy")  # tuned baselines scored with the real-valued model of the instance codes' budget
MSP_PHASE1_BUDGET: Final = "MSP, Phase 1's budget"  # MSP of the real-valued model of Phase 1's epochs, shown beside


class Accuracy(TypedDict):
    acc: float


class AUROC(TypedDict):
    auroc: float


class Tuned(TypedDict):
    n: list[int]  # the numbers of samples the thresholds are tuned on
    acc_mean: list[float]  # per number of samples


class OODSet(TypedDict):
    llc_ed: dict[str, Accuracy]  # {k: LLC's ED at k bits}
    threshold_free: dict[str, AUROC]  # {score name: AUROC}
    tuned: dict[str, Tuned]  # {baseline: its tuned thresholds}
    samples_to_match: dict[str, dict[str, int | None]]  # {baseline: {k: samples it needs to match ED}}


class _Epochs(TypedDict):
    real: int
    llc: int
    instance: int


class Epochs(_Epochs, total=False):
    real_equal_budget: int  # the baselines' model: real + its continuation, as many as llc + instance


class _OODNeeds(TypedDict):
    ood_bits: list[int]
    id_classes: int
    repeats: int
    ns: list[int]
    sets: dict[str, OODSet]


class OODResults(_OODNeeds, Judged, total=False):
    profile: str
    seed: int
    checkpoints: dict[str, str]  # {'real', 'llc_phase1', 'llc_phase2', 'real_equal_budget': checkpoint name}
    epochs: Epochs
    baselines: dict[str, str]  # {tuned baseline: the model it scores, 'real_equal_budget' or 'real'}
    id_accuracy: dict[str, float]  # 'real_top1' (the baselines' model), 'real_top1_phase1_budget', 'llc_mhd_<k>'


def ood_zero_sample_matches(samples_needed: list[int | None]) -> bool:
    """LLC's ED (0 samples) is as accurate as MSP tuned on many samples: on every set MSP needs at least
    ``THRESHOLDS['ood_samples_to_match']`` samples (None = never matches)."""
    return all(m is None or m >= THRESHOLDS["ood_samples_to_match"] for m in samples_needed)


def seed_numbers(ood: OODResults) -> dict[str, float]:
    """The OOD claim's numbers of one seed, as a seed study names them, per OOD set: 'ood_ed_acc@<set>' (LLC's
    ED at the largest k, balanced detection accuracy, no samples) and 'ood_msp_below_acc@<set>' (MSP's best mean
    accuracy tuned on fewer than ``THRESHOLDS['ood_samples_to_match']`` samples). The claim holds on one seed
    exactly when the first exceeds the second on every set (``ood_zero_sample_matches``). Fractions."""
    k, most = str(max(ood["ood_bits"])), THRESHOLDS["ood_samples_to_match"]
    out = {}
    for name, r in ood["sets"].items():
        tuned = r["tuned"][MSP]
        below = [a for n, a in zip(tuned["n"], tuned["acc_mean"]) if n < most]
        if not below:
            raise ValueError(f"no MSP threshold of {name!r} is tuned on fewer than {most} samples")
        out[f"ood_ed_acc@{name}"] = r["llc_ed"][k]["acc"]
        out[f"ood_msp_below_acc@{name}"] = max(below)
    return out


def seeds_verdict(ood: OODResults, seeds: SeedStudy | None) -> tuple[Verdict, list[int]]:
    """(``ood_zero_sample_matches`` over the seeds of a ``seeds.json``, the seeds it is over): on every OOD set
    LLC's ED beats MSP tuned on fewer than the threshold's samples (``seed_numbers``), each by ``seed_verdict``
    over the seeds both numbers have; (None, []) where the seed study lacks a set's numbers."""
    pairs = [(f"ood_ed_acc@{n}", f"ood_msp_below_acc@{n}") for n in ood["sets"]]
    runs = sorted(set.intersection(*(set(seeds_of(seeds, *p)) for p in pairs))) if pairs else []
    if len(runs) < 2:
        return None, []
    return combine(seed_verdict(seeds, ed, msp) for ed, msp in pairs), runs


def rows(ood: OODResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The OOD claim with the study's verdict (``ood_zero_sample_matches``), judged over ``seeds`` where the
    seed study has every set's numbers (``seeds_verdict``)."""
    out = judged_row("zero-sample OOD detection (ED) matches a threshold tuned on many samples", ood)
    if not out:
        return out
    verdict, runs = seeds_verdict(ood, seeds)
    if verdict is None:
        out[0]["ours"] += " (one seed: fewer than two seeds of the seed study have every set's numbers)"
        return out
    n = seeds["numbers"]
    out[0]["ours"] += "; over the seeds, LLC ED vs MSP's best below {} samples: {}".format(
        THRESHOLDS["ood_samples_to_match"],
        ", ".join(
            f"{name} {mean_std(n[f'ood_ed_acc@{name}'])} vs {mean_std(n[f'ood_msp_below_acc@{name}'])}"
            for name in ood["sets"]
        ),
    )
    out[0]["seeds"], out[0]["over_seeds"] = verdict, len(runs)
    return out


def ood_markdown(ood: OODResults) -> str:
    """LLC's ED operating point and the tuned baselines per OOD set, from notebook 07's JSON."""
    k = str(max(ood["ood_bits"]))
    ep = ood.get("epochs")
    trained = (
        f" for {ep['real']} (real-valued), {ep['llc']} (LLC Phase 1) and {ep['instance']} (Phase 2) epochs"
        if ep
        else ""
    )
    if ep and "real_equal_budget" in ep:
        trained += (
            f"; MSP and energy score the real-valued model trained on to {ep['real_equal_budget']} epochs, "
            f"the instance codes' budget"
        )
    lines = [
        f"Trained on classes 0–{ood['id_classes'] - 1}{trained}. Balanced detection accuracy (%); LLC ED needs no "
        f"samples, MSP / energy thresholds are tuned on n samples per side (mean of {ood['repeats']} draws).",
        "",
        f"| OOD set | LLC ED {k} bits | MSP AUROC | LLC {k}-bit AUROC | MSP at n = {ood['ns'][0]} | MSP best "
        f"| samples MSP needs to match ED |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in ood["sets"].items():
        msp = r["tuned"][MSP]
        need = r["samples_to_match"][MSP][k]
        lines.append(
            f"| {name} | {100 * r['llc_ed'][k]['acc']:.1f} | {100 * r['threshold_free'][MSP]['auroc']:.1f} "
            f"| {100 * r['threshold_free'][f'LLC {k} bits']['auroc']:.1f} | {100 * msp['acc_mean'][0]:.1f} "
            f"| {100 * max(msp['acc_mean']):.1f} | {'never' if need is None else need} |"
        )
    return "\n".join(lines)

"""Claims of the OOD study (``studies.ood.ood_study``, notebook 07): LLC's ED detects out-of-distribution images
with no sample as accurately as a threshold tuned on many; the OOD table."""

from __future__ import annotations

from typing import Final, TypedDict

from .common import Judged, Row, SeedStudy, judged_row

RESULTS: Final = "07_ood"  # notebook 07's results file

THRESHOLDS = {
    "ood_samples_to_match": 1000,  # a tuned baseline needs at least this many samples to match ED
}

MSP: Final = "MSP"  # the tuned baseline the claim is judged against, by its name in the results


class Accuracy(TypedDict):
    acc: float


class AUROC(TypedDict):
    auroc: float


class Tuned(TypedDict):
    acc_mean: list[float]  # per number of samples ('ns')


class OODSet(TypedDict):
    llc_ed: dict[str, Accuracy]  # {k: LLC's ED at k bits}
    threshold_free: dict[str, AUROC]  # {score name: AUROC}
    tuned: dict[str, Tuned]  # {baseline: its tuned thresholds}
    samples_to_match: dict[str, dict[str, int | None]]  # {baseline: {k: samples it needs to match ED}}


class Epochs(TypedDict):
    real: int
    llc: int
    instance: int


class _OODNeeds(TypedDict):
    ood_bits: list[int]
    id_classes: int
    repeats: int
    ns: list[int]
    sets: dict[str, OODSet]


class OODResults(_OODNeeds, Judged, total=False):
    epochs: Epochs


def ood_zero_sample_matches(samples_needed: list[int | None]) -> bool:
    """LLC's ED (0 samples) is as accurate as MSP tuned on many samples: on every set MSP needs at least
    ``THRESHOLDS['ood_samples_to_match']`` samples (None = never matches)."""
    return all(m is None or m >= THRESHOLDS["ood_samples_to_match"] for m in samples_needed)


def rows(ood: OODResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The OOD claim with the study's verdict (``ood_zero_sample_matches``)."""
    return judged_row("zero-sample OOD detection (ED) matches a threshold tuned on many samples", ood)


def ood_markdown(ood: OODResults) -> str:
    """LLC's ED operating point and the tuned baselines per OOD set, from notebook 07's JSON."""
    k = str(max(ood["ood_bits"]))
    ep = ood.get("epochs")
    trained = (
        f" for {ep['real']} (real-valued), {ep['llc']} (LLC Phase 1) and {ep['instance']} (Phase 2) epochs"
        if ep
        else ""
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

"""Claims of the retrieval study (``studies.retrieval.retrieval_study``, notebook 06): LLC's instance codes
against HashNet, real-valued features and predicted classes used as codes (MAP@R; tie-aware for binary codes);
the retrieval table."""

from __future__ import annotations

from typing import Final, TypedDict

from .common import PAPER, Row, SeedStudy

RESULTS: Final = "06_retrieval"  # notebook 06's results file

THRESHOLDS = {
    "retrieval_llc_vs_real_points": 3.0,  # "about as good": 10-bit LLC within this many MAP points of real, either way
}

LLC: Final = "LLC"  # the methods compared, by their names in the results
HASHNET: Final = "HashNet"
REAL_COSINE: Final = "real k-dim, cosine"
REAL_EQUAL_BUDGET: Final = "real k-dim, equal budget, cosine"  # trained as many epochs as LLC's instance codes


class MAP(TypedDict, total=False):
    map_tie_aware: float  # binary codes
    map: float  # real-valued features


class Schedule(TypedDict):
    epochs: int
    published_epochs: float


class HashSchedules(TypedDict):
    hashnet: Schedule
    csq: Schedule


class FullWidth(TypedDict):
    dims: int
    map_cosine: float


class _RetrievalNeeds(TypedDict):
    methods: dict[str, dict[str, MAP]]  # method: {k: MAP@R}


class RetrievalResults(_RetrievalNeeds, total=False):
    bits: list[int]
    R: int
    hash_schedules: HashSchedules
    real_full_width: FullWidth
    predicted_class_method: str  # the real model's predicted class used as a code, by its method's name
    predicted_class_equal_budget_method: str | None  # the same from the real model of the instance codes' epochs
    llc_predicted_class_method: str  # LLC's predicted class code, by its method's name
    epochs: dict[str, int]  # LLC, 'real k-dim', REAL_EQUAL_BUDGET and both predicted-class methods: epochs in all


def beats(a: float, b: float) -> bool:
    """a > b (one MAP against another)."""
    return a > b


def about_as_good_as_real(llc_map: float, real_map: float) -> bool:
    """10-bit LLC "about as good" as 10-dim real features: within ``THRESHOLDS['retrieval_llc_vs_real_points']``
    MAP points of them, above or below (both in %): two-sided, so that a weak real-valued baseline fails it as
    a strong one does."""
    return abs(llc_map - real_map) <= THRESHOLDS["retrieval_llc_vs_real_points"]


def rows(ret: RetrievalResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """Claims of the paper's retrieval section, and two checks of ours against predicted classes used as codes;
    each where its methods were run at its code lengths."""
    if not ret:
        return []
    m = ret["methods"]

    def binary(name, k):
        row = m.get(name, {}).get(str(k))
        return None if row is None else 100 * row["map_tie_aware"]

    def real(k, name=REAL_EQUAL_BUDGET):
        row = m.get(name, {}).get(str(k))
        return None if row is None else 100 * row["map"]

    ep = ret.get("epochs", {})
    eq, llc_ep = ep.get(REAL_EQUAL_BUDGET, "?"), ep.get(LLC, "?")
    same = (
        f"real features of {eq} epochs, the instance codes' budget"
        if eq == llc_ep
        else f"real features of {eq} epochs, the instance codes of {llc_ep}"
    )

    out = []
    llc10, hn16, llc16, r10 = binary(LLC, 10), binary(HASHNET, 16), binary(LLC, 16), real(10)
    p = PAPER["retrieval"]
    if llc10 is not None and hn16 is not None:
        out.append(
            Row(
                claim="10-bit LLC beats 16-bit HashNet (MAP@1000)",
                paper="yes (AlexNet backbone)",
                ours=f"{llc10:.1f} vs {hn16:.1f}",
                holds=beats(llc10, hn16),
            )
        )
    if llc16 is not None and hn16 is not None:
        out.append(
            Row(
                claim="16-bit LLC beats 16-bit HashNet",
                paper=f"by ~{p['llc16_over_hashnet16']} points",
                ours=f"{llc16:.1f} vs {hn16:.1f} ({llc16 - hn16:+.1f})",
                holds=beats(llc16, hn16),
            )
        )

    def missing(k, llc_map):
        return (
            f"n/a: the results hold no real-valued k-dim features of LLC's budget ({REAL_EQUAL_BUDGET!r}: "
            f"notebook 06 trains them); LLC {llc_map:.1f}, the features of their own "
            f"budget ({ep.get('real k-dim', '?')} epochs) {real(k, REAL_COSINE):.1f}"
        )

    if llc10 is not None and r10 is None and real(10, REAL_COSINE) is not None:
        out.append(
            Row(
                claim="10-bit LLC about as good as 10-dim real-valued features",
                paper=f"{p['llc'][10]} vs {p['real'][10]}",
                ours=missing(10, llc10),
                holds=None,
            )
        )
    if llc10 is not None and r10 is not None:
        out.append(
            Row(
                claim=f"10-bit LLC about as good as 10-dim real-valued features (within "
                f"{THRESHOLDS['retrieval_llc_vs_real_points']} MAP points either way; {same})",
                paper=f"{p['llc'][10]} vs {p['real'][10]}",
                ours=f"{llc10:.1f} vs {r10:.1f} ({llc10 - r10:+.1f}; features of {ep.get('real k-dim', '?')} "
                f"epochs: {real(10, REAL_COSINE):.1f})",
                holds=about_as_good_as_real(llc10, r10),
            )
        )
    pc, pc_same = ret.get("predicted_class_method"), ret.get("predicted_class_equal_budget_method")
    pc16, pc_same16 = (binary(name, 16) if name else None for name in (pc, pc_same))
    if llc16 is not None and pc16 is not None:
        # judged against the real model of the instance codes' budget where the results hold it
        vs, name = (pc_same16, pc_same) if pc_same16 is not None else (pc16, pc)
        n_ep = ep.get(name, "?")
        budget = (
            f"the real model of {n_ep} epochs, "
            + ("the instance codes' budget" if n_ep == llc_ep else f"the instance codes of {llc_ep}")
            + ("" if pc_same16 is not None else ": the results hold no equal-budget one")
        )
        out.append(
            Row(
                claim="16-bit LLC beats the real model's predicted class used as a code (Sablayrolles et al. "
                "2017; a reviewer's check, not in the paper)",
                paper="not reported",
                ours=f"{llc16:.1f} vs {vs:.1f} ({name}, {budget}"
                + (f"; of {ep.get(pc, '?')} epochs: {pc16:.1f})" if pc_same16 is not None else ")"),
                holds=beats(llc16, vs),
            )
        )
    lpc = ret.get("llc_predicted_class_method")
    lpc16 = binary(lpc, 16) if lpc else None
    if llc16 is not None and lpc16 is not None:
        out.append(
            Row(
                claim="16-bit LLC instance codes beat LLC's own predicted class code (the code its classifier "
                "gives; a reviewer's check, not in the paper)",
                paper="not reported",
                ours=f"{llc16:.1f} vs {lpc16:.1f}"
                + (
                    f" (the real model's predicted class {pc16:.1f}, {ep.get(pc, '?')} epochs)"
                    if pc16 is not None
                    else ""
                ),
                holds=beats(llc16, lpc16),
            )
        )
    llc64, r64 = binary(LLC, 64), real(64)
    if llc64 is not None and r64 is None and real(64, REAL_COSINE) is not None:
        out.append(
            Row(
                claim="at 64 dims real-valued features are clearly better than 64-bit LLC",
                paper=f"{p['real'][64]} vs {p['llc'][64]}",
                ours=missing(64, llc64),
                holds=None,
            )
        )
    if llc64 is not None and r64 is not None:
        out.append(
            Row(
                claim=f"at 64 dims real-valued features are clearly better than 64-bit LLC ({same})",
                paper=f"{p['real'][64]} vs {p['llc'][64]}",
                ours=f"{r64:.1f} vs {llc64:.1f} (features of {ep.get('real k-dim', '?')} epochs: "
                f"{real(64, REAL_COSINE):.1f})",
                holds=beats(r64, llc64),
            )
        )
    return out


def paper_retrieval() -> str:
    """The paper's retrieval numbers (``PAPER``: ImageNet-100, ResNet50, MAP@1000) as markdown."""
    r = PAPER["retrieval"]
    return (
        "Paper, ImageNet-100, ResNet50, MAP@1000: LLC "
        + ", ".join(f"{v} at {k} bits" for k, v in r["llc"].items())
        + "; real-valued features "
        + ", ".join(f"{v} ({k} dims)" for k, v in r["real"].items())
        + "."
    )


def hash_schedules_text(schedules: HashSchedules) -> str:
    """'HashNet fine-tuned for 15 epochs (published: 14.4), CSQ for 24 (published: 23.4)' from a retrieval
    result's 'hash_schedules' (published lengths in epochs of the training set, by images seen)."""
    h, c = schedules["hashnet"], schedules["csq"]
    return (
        f"HashNet fine-tuned for {h['epochs']} epochs (published: {h['published_epochs']:.1f}), CSQ for "
        f"{c['epochs']} (published: {c['published_epochs']:.1f})"
    )


def retrieval_markdown(ret: RetrievalResults) -> str:
    """MAP@R per method and code length (tie-aware for binary codes) of notebook 06's JSON."""
    bits = ret["bits"]
    lines = [
        f"MAP@{ret['R']} (%), queries = test split, database = training split, relevant = same class; "
        f"{hash_schedules_text(ret['hash_schedules'])}.",
        "",
        "| method | " + " | ".join(f"{k} bits" for k in bits) + " |",
        "|---|" + "---:|" * len(bits),
    ]
    for name, rows_ in ret["methods"].items():
        key = "map" if "map" in rows_[str(bits[0])] else "map_tie_aware"
        lines.append(f"| {name} | " + " | ".join(f"{100 * rows_[str(k)][key]:.2f}" for k in bits) + " |")
    full = ret["real_full_width"]
    lines.append(f"\nReal-valued full width ({full['dims']} dims, cosine): {100 * full['map_cosine']:.2f}.")
    return "\n".join(lines)

"""Claims of the accuracy study (``studies.accuracy.accuracy_vs_bits``, notebook 02): the paper's codebook table
(every codebook trained by the same Phase 2 from the real-valued backbone), LLC near the real-valued accuracy,
its instance codes' bits right, and the warm-start and nesting ablations."""

from __future__ import annotations

from typing import Final, TypedDict

from .common import PAPER, Row, SeedStudy, Verdict, combine, mean_std, same_path_key, seed_verdict, seeds_of

RESULTS: Final = "02_accuracy_vs_bits"  # notebook 02's results file

THRESHOLDS = {
    "near_real_mhd_points": 2.5,  # LLC MHD at most this many points below the real-valued top-1 (paper: -2.4)
    "nested_prefix_points": 2.0,  # nested 20-bit prefix within this many points of a separate 20-bit run
}

RANKING: Final = ("llc", "svd", "random", "cca")  # the paper's MHD ranking of the codebooks, best first
CLASS_CODE_BITS: Final = 20  # the abstract's claim: 20-bit class codes near the real-valued accuracy
NUM_CLASSES: Final = 100


class CodeMetrics(TypedDict):
    unique_codes: int
    ed_acc: float
    mhd_acc: float
    bits_right: float


class Ablation(TypedDict, total=False):
    summary: str
    holds: Verdict


class Nested(Ablation, total=False):
    bits: int  # the prefix length judged


class _AccuracyNeeds(TypedDict):
    table_bits: int
    real_top1: float
    methods: dict[str, dict[str, CodeMetrics]]  # 'llc' (its own path) or a same-path codebook: {k: metrics}


class Epochs(TypedDict):
    real: int  # the real-valued model class codes compare with (Phase 1's budget)
    real_equal_budget: int  # that model trained on under Phase 2's recipe
    llc_class_codes: int  # Phase 1
    llc_instance_codes: int  # Phase 1 + Phase 2


class EqualBudget(TypedDict):
    """What notebook 02's results and a per-seed equal-budget results file (``studies.accuracy.equal_budget_study``)
    both hold of the equal-budget comparison."""

    profile: str
    seed: int
    real_top1_equal_budget: float  # the real-valued model of as many epochs as the instance codes
    equal_budget_checkpoints: dict[str, str]  # {'real', 'real_equal_budget': checkpoint name}


class AccuracyResults(_AccuracyNeeds, total=False):
    real_top1_equal_budget: float  # the real-valued model of as many epochs as the instance codes
    epochs: Epochs
    llc_class_code_acc: dict[str, float]  # {k: top-1 of LLC's k-bit class codes}
    warm_start: Ablation
    nested: Nested


def warm_start_helps(warm_mhd: float, control_mhd: float) -> bool:
    """Warm starting LLC from a baseline codebook helps beyond the trained backbone it comes with: its MHD beats
    the control, the same real-valued backbone with LLC's default head, trained for the same number of
    epochs."""
    return warm_mhd > control_mhd


def nesting_cost(prefix_acc: float, single_acc: float) -> float:
    """What nesting costs: a separate run's accuracy minus the nested code's prefix's (positive: the prefix is
    worse), in the units given."""
    return single_acc - prefix_acc


def nested_is_free(prefix_acc: float, single_acc: float) -> bool:
    """A nested code's k-bit prefix costs at most ``THRESHOLDS['nested_prefix_points']`` of accuracy against a
    separate k-bit run (fractions in [0, 1])."""
    return prefix_acc >= single_acc - THRESHOLDS["nested_prefix_points"] / 100


def codebook_ranking(mhd: dict[str, float]) -> bool:
    """The paper's MHD ranking LLC > SVD > Random > CCA (``RANKING``); ``mhd``: {'llc', 'svd', 'random', 'cca':
    accuracy}."""
    return all(mhd[a] > mhd[b] for a, b in zip(RANKING, RANKING[1:]))


def llc_beats_baselines(mhd: dict[str, float]) -> bool:
    """LLC's codebook beats every baseline codebook in MHD accuracy."""
    return mhd["llc"] > max(v for name, v in mhd.items() if name != "llc")


def all_codes_unique(unique: int, num_classes: int) -> bool:
    return unique == num_classes


def near_real(llc_mhd_points: float, real_points: float) -> bool:
    """LLC's MHD accuracy at most ``THRESHOLDS['near_real_mhd_points']`` below the real-valued top-1 (both in %):
    one-sided, as the paper's claim is that LLC loses little, so LLC above the real model also holds."""
    return real_points - llc_mhd_points <= THRESHOLDS["near_real_mhd_points"]


def codebook_seed_verdicts(seeds: SeedStudy | None, k: int) -> dict[str, Verdict]:
    """The codebook claims over the seeds of a ``seeds.json`` at ``k`` bits: 'ranking' and 'ranking_ed'
    (``codebook_ranking`` by MHD and by ED), 'beats' (``llc_beats_baselines``) and 'class_codes_near_real'
    (``near_real`` of its 20-bit class codes), each by ``seed_verdict``."""
    mhd = {n: f"{same_path_key(n)}_mhd@{k}" for n in RANKING}
    ed = {n: f"{same_path_key(n)}_ed@{k}" for n in RANKING}
    order = tuple(zip(RANKING, RANKING[1:]))
    margin = -THRESHOLDS["near_real_mhd_points"] / 100
    return {
        "ranking": combine(seed_verdict(seeds, mhd[a], mhd[b]) for a, b in order),
        "ranking_ed": combine(seed_verdict(seeds, ed[a], ed[b]) for a, b in order),
        "beats": combine(seed_verdict(seeds, mhd["llc"], mhd[b]) for b in ("svd", "random", "cca")),
        "class_codes_near_real": seed_verdict(seeds, f"llc_class_code_acc@{CLASS_CODE_BITS}", "real_top1", margin),
    }


def nested_seed_verdict(seeds: SeedStudy | None, n: int) -> Verdict:
    """``nested_is_free`` over the seeds of a ``seeds.json``: the nested code's n-bit prefix is within
    ``THRESHOLDS['nested_prefix_points']`` of a separate n-bit run, by ``seed_verdict``."""
    return seed_verdict(
        seeds,
        f"llc_nested_prefix_class_code_acc@{n}",
        f"llc_single_class_code_acc@{n}",
        -THRESHOLDS["nested_prefix_points"] / 100,
    )


def _same_path(acc: AccuracyResults) -> dict[str, str]:
    """{codebook: the name of its results after the same Phase 2}; LLC's own path where a results file has no
    same-path LLC."""
    llc = same_path_key("llc") if same_path_key("llc") in acc["methods"] else "llc"
    return {n: llc if n == "llc" else same_path_key(n) for n in RANKING}


def table_bits(acc: AccuracyResults | None) -> int | None:
    """The code length of the codebook table (None without results)."""
    return acc["table_bits"] if acc else None


def paper_codebooks() -> str:
    """The paper's codebook table (``PAPER``: ImageNet-1K, ResNet50, 20 bits) as markdown."""
    lines = [
        f"Paper, {PAPER['dataset']}: real-valued top-1 {PAPER['real_top1']:.1f} %, LLC {PAPER['bits_right']} "
        f"of 20 bits right.",
        "",
        "| codebook | unique of 1000 | ED | MHD |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {u} | {ed:.2f} | {mhd:.2f} |" for name, (u, ed, mhd) in PAPER["codebooks"].items()]
    return "\n".join(lines)


def codebook_markdown(acc: AccuracyResults | None) -> list[str]:
    """The report's section of the paper's codebook table next to ours, and the real-valued top-1 (markdown
    lines; none without results)."""
    if not acc:
        return []
    k, books = str(acc["table_bits"]), _same_path(acc)
    lines = [
        "## Codebook comparison (the paper's table)",
        "",
        "| codebook | paper unique / 1000 | paper ED | paper MHD | ours unique / 100 | ours ED | ours MHD "
        "| delta MHD (ours - paper) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, key in (
        ("Random", books["random"]),
        ("CCA", books["cca"]),
        ("SVD", books["svd"]),
        ("LLC, same path", books["llc"]),
        ("LLC, its own Phase 1", "llc"),
    ):
        pu, ped, pmhd = PAPER["codebooks"][name.split(",")[0]]
        r = acc["methods"][key][k]
        lines.append(
            f"| {name} | {pu} | {ped:.2f} | {pmhd:.2f} | {r['unique_codes']} | {100 * r['ed_acc']:.2f} "
            f"| {100 * r['mhd_acc']:.2f} | {100 * r['mhd_acc'] - pmhd:+.2f} |"
        )
    lines += [
        "",
        "*Same path*: each codebook frozen into the real-valued backbone and trained by the same "
        "Phase 2, so these four rows differ only in the codebook. *Its own Phase 1*: LLC's backbone "
        "trained end to end with its codebook, then Phase 2 (the headline).",
    ]
    lines += ["", f"Real-valued classifier: paper {PAPER['real_top1']:.1f} %, ours {100 * acc['real_top1']:.2f} %.", ""]
    return lines


def codebook_rows(acc: AccuracyResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The codebook claims at the table's k (the rankings and LLC beating the baselines, on the same Phase 2
    path), LLC's unique class codes and LLC near the real-valued accuracy (its MHD, and its 20-bit class codes);
    each with its verdict over ``seeds`` where the seed study has the numbers."""
    if not acc:
        return []
    k, books = str(acc["table_bits"]), _same_path(acc)
    m = {n: 100 * acc["methods"][key][k]["mhd_acc"] for n, key in books.items()}
    e = {n: 100 * acc["methods"][key][k]["ed_acc"] for n, key in books.items()}
    llc = acc["methods"]["llc"][k]
    own, real = 100 * llc["mhd_acc"], 100 * acc["real_top1"]
    by_seed = codebook_seed_verdicts(seeds, int(k))
    paper_mhd = {n.lower(): v[2] for n, v in PAPER["codebooks"].items()}
    paper_ed = {n.lower(): v[1] for n, v in PAPER["codebooks"].items()}
    paper_own, paper_real = paper_mhd["llc"], PAPER["real_top1"]
    cc = acc.get("llc_class_code_acc", {}).get(str(CLASS_CODE_BITS))
    ep = acc.get("epochs", {})
    rows = [
        Row(
            claim="MHD ranking LLC > SVD > Random > CCA (same Phase 2 path)",
            paper=" > ".join(f"{paper_mhd[n]:.1f}" for n in RANKING),
            ours=" > ".join(f"{n} {m[n]:.1f}" for n in sorted(m, key=m.get, reverse=True)),
            holds=codebook_ranking(m),
            seeds=by_seed["ranking"],
        ),
        Row(
            claim="ED ranking LLC > SVD > Random > CCA (same Phase 2 path)",
            paper=" > ".join(f"{paper_ed[n]:.1f}" for n in RANKING),
            ours=" > ".join(f"{n} {e[n]:.1f}" for n in sorted(e, key=e.get, reverse=True)),
            holds=codebook_ranking(e),
            seeds=by_seed["ranking_ed"],
        ),
        Row(
            claim="LLC beats every baseline codebook (MHD, same Phase 2 path)",
            paper="yes",
            ours=f"LLC {m['llc']:.1f} vs best baseline {max(m['svd'], m['random'], m['cca']):.1f}",
            holds=llc_beats_baselines(m),
            seeds=by_seed["beats"],
        ),
        Row(
            claim="all LLC class codes unique",
            paper=f"{PAPER['codebooks']['LLC'][0]} / 1000",
            ours=f"{llc['unique_codes']} / {NUM_CLASSES}",
            holds=all_codes_unique(llc["unique_codes"], NUM_CLASSES),
        ),
        _near_real_row(acc, own, paper_own, paper_real, seeds, k),
    ]
    if cc is not None:
        rows.append(
            Row(
                claim=f"{CLASS_CODE_BITS}-bit class codes near real-valued accuracy (at most "
                f"{THRESHOLDS['near_real_mhd_points']} points below; the abstract's claim; against the real-valued "
                f"model of Phase 1's {ep.get('real', '?')} epochs)",
                paper=f"{PAPER['class_code_top1']:.1f} vs {paper_real:.1f} "
                f"({PAPER['class_code_top1'] - paper_real:+.1f})",
                ours=f"{100 * cc:.1f} vs {real:.1f} ({100 * cc - real:+.1f})",
                holds=near_real(100 * cc, real),
                seeds=by_seed["class_codes_near_real"],
                over_seeds=len(seeds_of(seeds, f"llc_class_code_acc@{CLASS_CODE_BITS}", "real_top1")),
            )
        )
    return rows  # bits right: a goal row of the headline, at 20 bits like the paper's and at the density-matched 16


def equal_budget_numbers(res: EqualBudget) -> dict[str, float]:
    """The equal-budget comparison's number of one seed, as a seed study names it: 'real_top1_equal_budget'
    (fraction), from notebook 02's results or a per-seed equal-budget results file alike."""
    return {"real_top1_equal_budget": float(res["real_top1_equal_budget"])}


def _near_real_row(acc: AccuracyResults, own: float, paper_own: float, paper_real: float, seeds, k: str) -> Row:
    """LLC's MHD at ``k`` bits (its instance codes, Phase 1 + Phase 2 epochs) near the real-valued model of the
    same total epochs (``real_top1_equal_budget``), judged over ``seeds`` where the seed study has both numbers,
    else on one seed. None when the results file has no equal-budget model."""
    ep, eq = acc.get("epochs", {}), acc.get("real_top1_equal_budget")
    claim = (
        f"LLC near real-valued accuracy at ~2 log2 C bits (MHD at most {THRESHOLDS['near_real_mhd_points']} points "
        f"below that of a real-valued model of the same total epochs as the instance codes, "
        f"{ep.get('llc_instance_codes', '?')})"
    )
    paper = f"{paper_own:.1f} vs {paper_real:.1f} ({paper_own - paper_real:+.1f})"
    if eq is None:
        return Row(claim=claim, paper=paper, ours="n/a: no equal-budget real model; run notebook 02 again", holds=None)
    real = 100 * eq
    names = (f"llc_mhd_acc@{k}", "real_top1_equal_budget")
    runs = seeds_of(seeds, *names)
    row = Row(
        claim=claim,
        paper=paper,
        ours=f"{own:.1f} vs {real:.1f} ({own - real:+.1f}; the {ep['real']}-epoch real model "
        f"{100 * acc['real_top1']:.1f})",
        holds=near_real(own, real),
    )
    if len(runs) < 2:
        row["ours"] += " (one seed: fewer than two seeds of the seed study have both numbers)"
        return row
    n = seeds["numbers"]
    own_seeds, real_seeds = (seeds_of(seeds, name) for name in names)
    row["ours"] += (
        f"; over the seeds {mean_std(n[names[0]])} vs {mean_std(n[names[1]])}"
        if own_seeds == real_seeds
        else f"; LLC over seeds {own_seeds} {mean_std(n[names[0]])}, the real model over seeds {real_seeds} "
        f"{mean_std(n[names[1]])}"
    )
    row["seeds"] = seed_verdict(seeds, *names, -THRESHOLDS["near_real_mhd_points"] / 100)
    row["over_seeds"] = len(runs)
    return row


def ablation_rows(acc: AccuracyResults | None, seeds: SeedStudy | None = None, profile=None) -> list[Row]:
    """The warm-start and nesting ablations, with the verdicts the study recorded; the nesting cost over
    ``seeds`` where the seed study has it."""
    if not acc:
        return []
    nb = acc.get("nested", {}).get("bits")
    rows: dict[str, Row] = {}
    for key, claim in (
        (
            "warm_start",
            "warm starting from SVD/CCA codebooks helps beyond the trained backbone (against the same backbone "
            "with LLC's default head, for the same epochs)",
        ),
        (
            "nested",
            f"a nested codebook's {nb}-bit prefix costs at most "
            f"{THRESHOLDS['nested_prefix_points']} points against a separate {nb}-bit run",
        ),
    ):
        if key in acc:
            rows[key] = Row(claim=claim, paper="yes", ours=acc[key]["summary"], holds=acc[key].get("holds"))
            if key == "warm_start" and "control" not in acc[key]:  # judged against scratch: another question
                rows[key]["holds"] = None
                rows[key]["ours"] += "; judged without the backbone control: run notebook 02 again"
    cost = ((seeds or {}).get("numbers") or {}).get(f"nested_cost@{nb}")
    if cost and "nested" in rows:
        rows["nested"]["seeds"] = nested_seed_verdict(seeds, nb)
        rows["nested"]["ours"] += f"; cost over the seeds {mean_std(cost)} points"
    return list(rows.values())

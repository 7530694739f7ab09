"""Paper-vs-reproduction report: the paper's ImageNet-1K claims next to our CIFAR-100 measurements.

The paper's numbers and the claims' thresholds come from ``claims``; every "ours" value comes from the JSON
files the notebooks write.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.files import write_json
from . import claims
from .claims import PAPER, THRESHOLDS


def load_results(folder: Path | str) -> dict[str, dict]:
    """{notebook stem: its JSON} for every ``*.json`` in ``folder`` except results.json itself and
    provenance.json (the machines that wrote them, ``studies.record_provenance``: not results)."""
    out = {}
    for p in sorted(Path(folder).glob("*.json")):
        if p.name not in ("results.json", "provenance.json"):
            out[p.stem] = json.loads(p.read_text())
    return out


def _holds(ok: bool | str | None) -> str:
    if isinstance(ok, str):  # "within noise"
        return ok
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def _retrieval_rows(ret: dict | None) -> list[dict]:
    """Claims of the paper's retrieval section, from notebook 06's JSON (tie-aware MAP@R for binary codes)."""
    if not ret:
        return []
    m = ret["methods"]

    def binary(name, k):
        row = m.get(name, {}).get(str(k))
        return None if row is None else 100 * row["map_tie_aware"]

    def real(k):
        row = m.get("real k-dim, cosine", {}).get(str(k))
        return None if row is None else 100 * row["map"]

    rows = []
    llc10, hn16, llc16, r10 = binary("LLC", 10), binary("HashNet", 16), binary("LLC", 16), real(10)
    if llc10 is not None and hn16 is not None:
        rows.append(
            {
                "claim": "10-bit LLC beats 16-bit HashNet (MAP@1000)",
                "paper": "yes (AlexNet backbone)",
                "ours": f"{llc10:.1f} vs {hn16:.1f}",
                "holds": claims.beats(llc10, hn16),
            }
        )
    if llc16 is not None and hn16 is not None:
        rows.append(
            {
                "claim": "16-bit LLC beats 16-bit HashNet",
                "paper": f"by ~{PAPER['retrieval']['llc16_over_hashnet16']} points",
                "ours": f"{llc16:.1f} vs {hn16:.1f} ({llc16 - hn16:+.1f})",
                "holds": claims.beats(llc16, hn16),
            }
        )
    if llc10 is not None and r10 is not None:
        p = PAPER["retrieval"]
        rows.append(
            {
                "claim": "10-bit LLC about as good as 10-dim real-valued features",
                "paper": f"{p['llc'][10]} vs {p['real'][10]}",
                "ours": f"{llc10:.1f} vs {r10:.1f}",
                "holds": claims.about_as_good_as_real(llc10, r10),
            }
        )
    pc = ret.get("predicted_class_method")
    pc16 = binary(pc, 16) if pc else None
    if llc16 is not None and pc16 is not None:
        rows.append(
            {
                "claim": "16-bit LLC beats the real model's predicted class used as a code (Sablayrolles et al. "
                "2017; a reviewer's check, not in the paper)",
                "paper": "not reported",
                "ours": f"{llc16:.1f} vs {pc16:.1f} ({pc})",
                "holds": claims.beats(llc16, pc16),
            }
        )
    lpc = ret.get("llc_predicted_class_method")
    lpc16 = binary(lpc, 16) if lpc else None
    if llc16 is not None and lpc16 is not None:
        rows.append(
            {
                "claim": "16-bit LLC instance codes beat LLC's own predicted class code (the code its classifier "
                "gives; a reviewer's check, not in the paper)",
                "paper": "not reported",
                "ours": f"{llc16:.1f} vs {lpc16:.1f}"
                + (f" (real model's predicted class {pc16:.1f})" if pc16 is not None else ""),
                "holds": claims.beats(llc16, lpc16),
            }
        )
    llc64, r64 = binary("LLC", 64), real(64)
    if llc64 is not None and r64 is not None:
        p = PAPER["retrieval"]
        rows.append(
            {
                "claim": "at 64 dims real-valued features are clearly better than 64-bit LLC",
                "paper": f"{p['real'][64]} vs {p['llc'][64]}",
                "ours": f"{r64:.1f} vs {llc64:.1f}",
                "holds": claims.beats(r64, llc64),
            }
        )
    return rows


def usable_seeds(seeds: dict | None, headline: dict | None) -> tuple[dict | None, str]:
    """(the part of ``seeds`` (a ``seeds.json``) that may judge the results of ``headline`` (a
    ``headline_results.json``), why the rest may not): the numbers whose checkpoints it ran at the headline's
    seed, by ``claims.usable_seed_numbers`` with the headline's ``number_checkpoints``; ``seeds`` as it is,
    with '', when either is missing."""
    if not seeds or not headline:
        return seeds or None, ""
    return claims.usable_seed_numbers(seeds, headline.get("seed"), headline["number_checkpoints"])


def paper_codebooks() -> str:
    """The paper's codebook table (``claims.PAPER``: ImageNet-1K, ResNet50, 20 bits) as markdown."""
    lines = [
        f"Paper, {PAPER['dataset']}: real-valued top-1 {PAPER['real_top1']:.1f} %, LLC {PAPER['bits_right']} "
        f"of 20 bits right.",
        "",
        "| codebook | unique of 1000 | ED | MHD |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {u} | {ed:.2f} | {mhd:.2f} |" for name, (u, ed, mhd) in PAPER["codebooks"].items()]
    return "\n".join(lines)


def paper_retrieval() -> str:
    """The paper's retrieval numbers (``claims.PAPER``: ImageNet-100, ResNet50, MAP@1000) as markdown."""
    r = PAPER["retrieval"]
    return (
        "Paper, ImageNet-100, ResNet50, MAP@1000: LLC "
        + ", ".join(f"{v} at {k} bits" for k, v in r["llc"].items())
        + "; real-valued features "
        + ", ".join(f"{v} ({k} dims)" for k, v in r["real"].items())
        + "."
    )


def _goal_rows(h: dict | None, profile, seeds: dict | None = None) -> list[dict]:
    """The project's instance-code goals for ``profile`` (``THRESHOLDS['p_exact_goal']``, ``['R_goal']``)
    against the headline's test numbers (``headline_results.json``), over the seeds of ``seeds`` where it has
    the number (``claims.seed_verdict`` against the goal); none without the headline."""
    if not h or profile is None:
        return []
    rows = []
    for name, key, what in (
        ("p_exact_goal", "p_exact_given_class_code_right", "P(exact given class code right)"),
        ("R_goal", "bits_right_if_class_code_right", "R (bits right when the class code is right)"),
    ):
        for k, goal in THRESHOLDS[name].get(profile.name, {}).items():
            row = h["llc"].get(str(k), {})
            if key in row:
                fmt = ".3f" if key.startswith("p_") else ".2f"
                over = ((seeds or {}).get("numbers") or {}).get(f"llc_{key}@{k}")
                rows.append(
                    {
                        "claim": f"goal: {what} >= {goal} at {k} bits (test)",
                        "paper": f"{PAPER['bits_right']} / 20 bits right at {PAPER['class_code_top1']:.1f} % "
                        f"class-code accuracy",
                        "ours": f"{row[key]:{fmt}}"
                        + (f"; over the seeds {over['mean']:{fmt}} ± {over['std']:{fmt}}" if over else ""),
                        "holds": claims.goal_reached(row[key], goal),
                        "seeds": claims.seed_verdict(seeds, f"llc_{key}@{k}", goal) if over else None,
                    }
                )
    return rows


def mean_std(stat: dict, scale: float = 100.0) -> str:
    """'mean ± std' of a {'mean', 'std'} statistic over seeds, times ``scale`` (100: fractions in %)."""
    return f"{scale * stat['mean']:.2f} ± {scale * stat['std']:.2f}"


def seeds_markdown(seeds: dict) -> str:
    """Mean ± sample std (%, bits right in bits) over the seeds of a ``seeds.json`` (``studies.headline.seeds_study``):
    the LLC headline at every k, the real model, and the codebooks after the same Phase 2 at the table's k."""
    n = seeds["numbers"]

    def pm(name: str, scale: float = 100.0) -> str:
        return mean_std(n[name], scale) if name in n else "–"

    def bits_right(k: int) -> str:
        return f"{pm(f'llc_bits_right@{k}', 1.0)} / {k}" if f"llc_bits_right@{k}" in n else "–"

    ks = sorted({int(name.split("@")[1]) for name in n if name.startswith(("llc_mhd_acc@", "llc_class_code_acc@"))})
    lines = [
        f"Seeds {seeds['seeds']}, {seeds['profile']} profile, one run per seed (mean ± sample standard "
        f"deviation). Real-valued top-1: {pm('real_top1')} %.",
        "",
        "| bits | class-code acc | MHD (instance) | ED (instance) | bits right |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {k} | {pm(f'llc_class_code_acc@{k}')} | {pm(f'llc_mhd_acc@{k}')} | {pm(f'llc_ed_acc@{k}')} "
        f"| {bits_right(k)} |"
        for k in ks
    ]
    if any(f"llc_{m}@{k}" not in n for k in ks for m in ("class_code_acc", "mhd_acc", "ed_acc", "bits_right")):
        lines += ["", "–: not from these checkpoints (the seed study ran another recipe for them)."]
    k = seeds["table_bits"]
    books = [
        (label, key)
        for label, key in (("LLC", "llc_same_path"), ("SVD", "svd"), ("Random", "random"), ("CCA", "cca"))
        if f"{key}_mhd@{k}" in n
    ]
    if books:
        lines += [
            "",
            f"Codebooks after the same Phase 2 from the real-valued backbone, {k} bits:",
            "",
            "| codebook | MHD | ED |",
            "|---|---:|---:|",
        ]
        lines += [f"| {label} | {pm(f'{key}_mhd@{k}')} | {pm(f'{key}_ed@{k}')} |" for label, key in books]
    nested = sorted(name for name in n if name.startswith("nested_cost@"))
    for name in nested:
        b = name.split("@")[1]
        lines += [
            "",
            f"Nesting at {b} bits (class-code accuracy, %): the nested code's prefix "
            f"{pm(f'llc_nested_prefix_class_code_acc@{b}')}, a separate {b}-bit run "
            f"{pm(f'llc_single_class_code_acc@{b}')}, cost {pm(name)} points.",
        ]
    if f"taxonomy_ari_llc@{k}" in n:
        lines += [
            "",
            f"Taxonomy at {k} bits (ARI against the superclasses, mean over class orders): LLC "
            f"{pm(f'taxonomy_ari_llc@{k}', 1.0)}, SVD {pm(f'taxonomy_ari_svd@{k}', 1.0)}, Random "
            f"{pm(f'taxonomy_ari_random@{k}', 1.0)}.",
        ]
    return "\n".join(lines)


def paper_vs_reproduction(res: dict[str, dict], profile=None) -> tuple[str, list[dict]]:
    """Markdown report and a list of {claim, paper, ours, holds} rows from the notebooks' results. ``profile``:
    the ``config.Profile`` they come from (its data subset is stated; the smoke profile's report says on top
    that its numbers are not results)."""
    rows: list[dict] = []
    acc = res.get("02_accuracy_vs_bits")
    seeds, ignored = usable_seeds(res.get("seeds"), res.get("headline_results"))
    split = (
        "shipped 500/100 split"
        if profile is None or profile.per_class is None
        else f"{profile.per_class} training and {profile.test_per_class} test images per class of the shipped split"
    )
    lines = ["# Paper vs reproduction", ""]
    if profile is not None and profile.name == "smoke":
        lines += [
            "> **smoke profile: numbers are not results.** A few images per class and one or two epochs: it "
            "checks that every code path runs. The results are the cpu and gpu profiles'.",
            "",
        ]
    lines += [
        f"Paper: {PAPER['dataset']}. Ours: CIFAR-100 (100 classes, {split}), "
        f"{'k = ' + str(acc['table_bits']) + ' bits (= 2 ceil(log2 100))' if acc else 'n/a'}.",
        "",
    ]
    if acc:
        k = str(acc["table_bits"])
        lines += [
            "## Codebook comparison (the paper's table)",
            "",
            "| codebook | paper unique / 1000 | paper ED | paper MHD | ours unique / 100 | ours ED | ours MHD "
            "| delta MHD (ours - paper) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        same = "llc_same_path" if "llc_same_path" in acc["methods"] else "llc"
        for name, key in (
            ("Random", "random"),
            ("CCA", "cca"),
            ("SVD", "svd"),
            ("LLC, same path", same),
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
        real = 100 * acc["real_top1"]
        lines += ["", f"Real-valued classifier: paper {PAPER['real_top1']:.1f} %, ours {real:.2f} %.", ""]
        keys = {"llc": same, "svd": "svd", "random": "random", "cca": "cca"}  # the same-path comparison
        m = {n: 100 * acc["methods"][key][k]["mhd_acc"] for n, key in keys.items()}
        own = 100 * acc["methods"]["llc"][k]["mhd_acc"]
        llc = acc["methods"]["llc"][k]
        by_seed = claims.codebook_seed_verdicts(seeds, int(k))
        paper_mhd = {n.lower(): v[2] for n, v in PAPER["codebooks"].items()}
        paper_ed = {n.lower(): v[1] for n, v in PAPER["codebooks"].items()}
        paper_own = paper_mhd["llc"]
        e = {n: 100 * acc["methods"][key][k]["ed_acc"] for n, key in keys.items()}
        cc20 = acc.get("llc_class_code_acc", {}).get("20")
        rows += [
            {
                "claim": "MHD ranking LLC > SVD > Random > CCA (same Phase 2 path)",
                "paper": " > ".join(f"{paper_mhd[n]:.1f}" for n in ("llc", "svd", "random", "cca")),
                "ours": " > ".join(f"{n} {m[n]:.1f}" for n in sorted(m, key=m.get, reverse=True)),
                "holds": claims.codebook_ranking(m),
                "seeds": by_seed["ranking"],
            },
            {
                "claim": "ED ranking LLC > SVD > Random > CCA (same Phase 2 path)",
                "paper": " > ".join(f"{paper_ed[n]:.1f}" for n in ("llc", "svd", "random", "cca")),
                "ours": " > ".join(f"{n} {e[n]:.1f}" for n in sorted(e, key=e.get, reverse=True)),
                "holds": claims.codebook_ranking(e),
                "seeds": by_seed["ranking_ed"],
            },
            {
                "claim": "LLC beats every baseline codebook (MHD, same Phase 2 path)",
                "paper": "yes",
                "ours": f"LLC {m['llc']:.1f} vs best baseline {max(m['svd'], m['random'], m['cca']):.1f}",
                "holds": claims.llc_beats_baselines(m),
                "seeds": by_seed["beats"],
            },
            {
                "claim": "all LLC class codes unique",
                "paper": f"{PAPER['codebooks']['LLC'][0]} / 1000",
                "ours": f"{llc['unique_codes']} / 100",
                "holds": claims.all_codes_unique(llc["unique_codes"], 100),
            },
            {
                "claim": f"LLC near real-valued accuracy at ~2 log2 C bits (MHD within "
                f"{THRESHOLDS['near_real_mhd_points']} points)",
                "paper": f"{paper_own:.1f} vs {PAPER['real_top1']:.1f} ({paper_own - PAPER['real_top1']:+.1f})",
                "ours": f"{own:.1f} vs {real:.1f} ({own - real:+.1f})",
                "holds": claims.near_real(own, real),
                "seeds": by_seed["near_real"],
            },
            *(
                [
                    {
                        "claim": f"20-bit class codes near real-valued accuracy (within "
                        f"{THRESHOLDS['near_real_mhd_points']} points; the abstract's claim)",
                        "paper": f"{PAPER['class_code_top1']:.1f} vs {PAPER['real_top1']:.1f} "
                        f"({PAPER['class_code_top1'] - PAPER['real_top1']:+.1f})",
                        "ours": f"{100 * cc20:.1f} vs {real:.1f} ({100 * cc20 - real:+.1f})",
                        "holds": claims.near_real(100 * cc20, real),
                        "seeds": by_seed["class_codes_near_real"],
                    }
                ]
                if cc20 is not None
                else []
            ),
            {
                "claim": "bits right (out of k)",
                "paper": f"{PAPER['bits_right']} / 20",
                "ours": f"{llc['bits_right']:.2f} / {k}",
                "holds": None,
            },
        ]
        rows += _goal_rows(res.get("headline_results"), profile, seeds)
        nb = acc.get("nested", {}).get("bits")
        for key, paper_txt in (
            ("warm_start", "warm starting from SVD/CCA codebooks helps (against LLC from scratch for the same epochs)"),
            (
                "nested",
                f"a nested codebook's {nb}-bit prefix costs at most "
                f"{THRESHOLDS['nested_prefix_points']} points against a separate {nb}-bit run",
            ),
        ):
            if key in acc:
                rows.append(
                    {"claim": paper_txt, "paper": "yes", "ours": acc[key]["summary"], "holds": acc[key].get("holds")}
                )
        cost = ((seeds or {}).get("numbers") or {}).get(f"nested_cost@{nb}")
        if cost:
            rows[-1]["seeds"] = claims.nested_seed_verdict(seeds, nb)
            rows[-1]["ours"] += f"; cost over the seeds {mean_std(cost)} points"
    fast = (res.get("05_linear_vs_hamming") or {}).get("fast_codebook")
    if fast and "holds" in fast:
        rows.append(
            {
                "claim": f"faster codebook learning: a {fast['bits']}-bit codebook learnt from "
                f"{fast['codebook_images']} images with a width-{fast['codebook_width']} network is within "
                f"{fast['threshold_points']} MHD points of the main codebook (same Phase 2, "
                f"{fast['epochs']} epochs)",
                "paper": PAPER["statements"]["fast_codebook"],
                "ours": f"MHD {100 * fast['mhd_acc']:.1f} vs {100 * fast['main_mhd_acc']:.1f}, ED "
                f"{100 * fast['ed_acc']:.1f} vs {100 * fast['main_ed_acc']:.1f} (one seed)",
                "holds": fast["holds"],
            }
        )
    rows += _retrieval_rows(res.get("06_retrieval"))
    for stem, claim in (
        ("07_ood", "zero-sample OOD detection (ED) matches a threshold tuned on many samples"),
        ("04_taxonomy", "clustering class codes recovers semantic groups"),
        ("05_linear_vs_hamming", "Hamming separability close to linear separability"),
        ("05_linear_vs_hamming_interpretability", "single bits are not interpretable"),
    ):
        if stem in res and "summary" in res[stem]:
            rows.append(
                {
                    "claim": claim,
                    "paper": res[stem].get("paper", "qualitative"),
                    "ours": res[stem]["summary"],
                    "holds": res[stem].get("holds"),
                }
            )
            tax = res[stem]
            if (
                stem == "04_taxonomy"
                and seeds
                and tax.get("n_clusters") == len(set(tax.get("superclass_of_class", [])))
            ):
                tb = tax["bits"]  # the seed study cuts at table_bits into as many clusters as superclasses
                ari = {b: seeds["numbers"].get(f"taxonomy_ari_{b}@{tb}") for b in ("llc", "svd", "random")}
                if all(ari.values()):
                    rows[-1]["seeds"] = claims.taxonomy_seed_verdict(seeds, tb)
                    rows[-1]["ours"] += (
                        "; over the seeds (class-order means) LLC "
                        + ", SVD ".join(mean_std(ari[b], 1.0) for b in ("llc", "svd"))
                        + f", Random {mean_std(ari['random'], 1.0)}"
                    )
    for r in rows:  # where several seeds were run, their verdict replaces the one-seed verdict
        if r.get("seeds") is not None:
            r["holds_one_seed"], r["holds"] = r["holds"], r.pop("seeds")
            r["ours"] += f" (seed 0; verdict over {len(seeds['seeds'])} seeds)"
        else:
            r.pop("seeds", None)
    lines += [f"**Noise rule.** {claims.NOISE_RULE}", ""]
    lines += [
        (
            "The verdict is over the seeds of `seeds.json` where it has the row's numbers, else over one seed."
            + (f" {ignored}." if ignored else "")
        )
        if seeds
        else "One seed: differences of a point or two may be noise (`make seeds` measures the spread)."
        + (f" {ignored}: it is not used." if ignored else ""),
        "",
    ]
    lines += [
        "## Claims",
        "",
        "| claim | paper (ImageNet-1K) | ours (CIFAR-100) | holds on CIFAR-100? |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['claim']} | {r['paper']} | {r['ours']} | {_holds(r['holds'])} |" for r in rows]
    if seeds:
        lines += ["", "## Spread over seeds (`make seeds`)", "", seeds_markdown(seeds)]
    return "\n".join(lines) + "\n", rows


# Which topic each claim of ``paper_vs_reproduction`` belongs to, by the start of its text: the README's status
# table links each claim to that topic's section of docs/status.md (``claim_status``)
CLAIM_TOPICS = (
    ("MHD ranking", "codebooks"),
    ("ED ranking", "codebooks"),
    ("LLC beats every baseline codebook", "codebooks"),
    ("all LLC class codes unique", "class-codes"),
    ("LLC near real-valued accuracy", "class-codes"),
    ("20-bit class codes near real-valued accuracy", "class-codes"),
    ("bits right", "instance-codes"),
    ("goal:", "instance-codes"),
    ("warm starting", "warm-start"),
    ("a nested codebook", "nesting"),
    ("faster codebook learning", "fast-codebook"),
    ("10-bit LLC", "retrieval"),
    ("16-bit LLC", "retrieval"),
    ("at 64 dims", "retrieval"),
    ("zero-sample OOD detection", "ood-detection"),
    ("clustering class codes", "taxonomy"),
    ("Hamming separability", "separability"),
    ("single bits", "interpretability"),
)


def claim_status(res: dict[str, dict], profile=None) -> list[dict]:
    """One {claim, holds, verdict, seeds, topic} per row of ``paper_vs_reproduction(res, profile)``: the verdict
    (True, False, "within noise" or None), as the report writes it, the number of seeds it is over (1 where the
    seed study does not judge the row) and the row's topic (``CLAIM_TOPICS``). KeyError naming a claim that has
    no topic."""
    _, rows = paper_vs_reproduction(res, profile)
    seeds, _ = usable_seeds(res.get("seeds"), res.get("headline_results"))
    out = []
    for r in rows:
        topic = next((t for start, t in CLAIM_TOPICS if r["claim"].startswith(start)), None)
        if topic is None:
            raise KeyError(f"claim {r['claim']!r} has no topic in report.CLAIM_TOPICS")
        n = len(seeds["seeds"]) if "holds_one_seed" in r else 1
        verdict = {"claim": r["claim"], "holds": r["holds"], "verdict": _holds(r["holds"])}
        out.append(verdict | {"seeds": n, "topic": topic})
    return out


REPORT_INPUTS = ("02_accuracy_vs_bits", "04_taxonomy", "05_linear_vs_hamming", "06_retrieval", "07_ood")


def write_report(ctx) -> tuple[str, dict]:
    """Read every notebook's JSON from ``ctx.figdir``, write paper_vs_reproduction.md and results.json into it
    (staged, then published); returns (markdown, the notebooks' results). FileNotFoundError, before anything is
    written, when a notebook's JSON is missing: it names the files and the command that makes them."""
    res = load_results(ctx.figdir)
    missing = [f"{n}.json" for n in REPORT_INPUTS if n not in res]
    if missing:
        raise FileNotFoundError(
            f"the paper-vs-reproduction report needs {', '.join(missing)} in {ctx.figdir}, written by the notebooks "
            f"of the same name; run them first: make reproduce PROFILE={ctx.profile.name}"
        )
    md, rows = paper_vs_reproduction(res, ctx.profile)
    (ctx.out / "paper_vs_reproduction.md").write_text(md)
    write_json(
        {
            "profile": ctx.profile.name,
            "claims": rows,
            "thresholds": THRESHOLDS,
            "notebooks": res,
            "run": {
                "profile": ctx.profile.name,
                "overrides": list(ctx.profile.overrides),
                "inputs": {name: r.get("run") for name, r in res.items()},
            },
        },
        ctx.out / "results.json",
    )
    ctx.publish()
    return md, res


# ------------------------------------------------------------------ tables of one notebook's results


def headline_markdown(h: dict) -> str:
    """The headline paragraph and tables of a ``studies.headline.reproduce`` result (numbers in %): the codes'
    accuracies (``headline_table``) and their instance codes where the paper measures them
    (``instance_code_table``)."""
    return headline_table(h) + "\n\n" + instance_code_table(h)


def headline_table(h: dict) -> str:
    """The headline paragraph and table of accuracies per code length of a ``studies.headline.reproduce``
    result (numbers in %)."""
    r = h["recipe"]
    lines = [
        f"Real-valued ResNet-9 (width {r['width']}, {r['real']['epochs']} epochs): **{100 * h['real_top1']:.2f} %** "
        f"top-1. LLC: one nested {r['llc']['bits']}-bit run ({r['init']}, {r['llc']['epochs']} epochs, auxiliary "
        f"head weight {r['aux_weight']}), then Phase 2 ({r['instance']['epochs']} epochs); k-bit codes are prefixes "
        f"(`headline_results.json`, {h['profile']} profile, seed {h['seed']}).",
        "",
        "| bits | class-code acc | MHD (instance codes) | ED (instance codes) | ED no match | unique class codes "
        "| bits right | bits right, class code right / wrong |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k, row in h["llc"].items():
        lines.append(
            f"| {k} | {100 * row['class_code_acc']:.2f} | {100 * row['mhd_acc']:.2f} | {100 * row['ed_acc']:.2f} "
            f"| {100 * row['ed_no_match_rate']:.1f} % | {row['unique_codes']} / {h['num_classes']} "
            f"| {row['bits_right']:.2f} / {k} | {row['bits_right_if_class_code_right']:.2f} / "
            f"{row['bits_right_if_class_code_wrong']:.2f} |"
        )
    return "\n".join(lines)


def instance_code_table(h: dict) -> str:
    """P(exact | class code right) and bits right on test and training images per code length of a
    ``studies.headline.reproduce`` result, with the paragraph that says what they are."""
    lines = [
        f"Instance codes where the paper measures them: of the images whose class code is right, the "
        f"fraction whose instance code is exact (P(exact | right); the paper's bits right imply most are) "
        f"and their bits right R, on the test images and on {h['train_eval_images']} training images "
        f"(eval mode). 16 bits for 100 classes are about as dense as the paper's 20 for 1000, matched by "
        f"the mean distance from a random class code to its nearest other one "
        f"(`docs/measurements/phase2_diagnostics_adopted_cpu_seed0.md`, part (c)); 14 bits is "
        f"the paper's own rule, 2 log2 C rounded up.",
        "",
        "| bits | P(exact given right), test | train | R, test | R, train | bits right, train |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for k, row in h["llc"].items():
        tr = h["llc_train"][k]
        lines.append(
            f"| {k} | {row['p_exact_given_class_code_right']:.3f} | {tr['p_exact_given_class_code_right']:.3f} "
            f"| {row['bits_right_if_class_code_right']:.2f} | {tr['bits_right_if_class_code_right']:.2f} "
            f"| {tr['bits_right']:.2f} / {k} |"
        )
    return "\n".join(lines)


def hash_schedules_text(schedules: dict) -> str:
    """'HashNet fine-tuned for 15 epochs (published: 14.4), CSQ for 24 (published: 23.4)' from a retrieval
    result's 'hash_schedules' (published lengths in epochs of the training set, by images seen)."""
    h, c = schedules["hashnet"], schedules["csq"]
    return (
        f"HashNet fine-tuned for {h['epochs']} epochs (published: {h['published_epochs']:.1f}), CSQ for "
        f"{c['epochs']} (published: {c['published_epochs']:.1f})"
    )


def retrieval_markdown(ret: dict) -> str:
    """MAP@R per method and code length (tie-aware for binary codes) of notebook 06's JSON."""
    bits = ret["bits"]
    lines = [
        f"MAP@{ret['R']} (%), queries = test split, database = training split, relevant = same class; "
        f"{hash_schedules_text(ret['hash_schedules'])}.",
        "",
        "| method | " + " | ".join(f"{k} bits" for k in bits) + " |",
        "|---|" + "---:|" * len(bits),
    ]
    for name, rows in ret["methods"].items():
        key = "map" if "map" in rows[str(bits[0])] else "map_tie_aware"
        lines.append(f"| {name} | " + " | ".join(f"{100 * rows[str(k)][key]:.2f}" for k in bits) + " |")
    full = ret["real_full_width"]
    lines.append(f"\nReal-valued full width ({full['dims']} dims, cosine): {100 * full['map_cosine']:.2f}.")
    return "\n".join(lines)


def ood_markdown(ood: dict) -> str:
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
        msp = r["tuned"]["MSP"]
        need = r["samples_to_match"]["MSP"][k]
        lines.append(
            f"| {name} | {100 * r['llc_ed'][k]['acc']:.1f} | {100 * r['threshold_free']['MSP']['auroc']:.1f} "
            f"| {100 * r['threshold_free'][f'LLC {k} bits']['auroc']:.1f} | {100 * msp['acc_mean'][0]:.1f} "
            f"| {100 * max(msp['acc_mean']):.1f} | {'never' if need is None else need} |"
        )
    return "\n".join(lines)

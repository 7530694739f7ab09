"""Paper-vs-reproduction report: the paper's ImageNet-1K claims next to our CIFAR-100 measurements.

The report assembles: its rows are those that each study's claims module (``claims.<study>``) makes from that
study's results file, in the order of ``ROWS``, and its tables of one study's results are those modules' too; it
reads no results file's layout itself. Every "ours" value comes from the JSON files the notebooks write.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.files import write_json
from .claims import (
    NOISE_RULE,
    PAPER,
    THRESHOLDS,
    Row,
    accuracy,
    fast_codebook,
    headline,
    ood,
    recipe_choice,
    retrieval,
    separability,
    taxonomy,
)
from .claims.accuracy import paper_codebooks
from .claims.common import RUN, SEEDS, judge_over_seeds, mean_std
from .claims.headline import headline_markdown, headline_table, instance_code_table, seeds_markdown, usable_seeds
from .claims.ood import ood_markdown
from .claims.retrieval import hash_schedules_text, paper_retrieval, retrieval_markdown

__all__ = [
    "CLAIM_TOPICS",
    "REPORT_INPUTS",
    "ROWS",
    "claim_status",
    "hash_schedules_text",
    "headline_markdown",
    "headline_table",
    "instance_code_table",
    "load_results",
    "mean_std",
    "ood_markdown",
    "paper_codebooks",
    "paper_retrieval",
    "paper_vs_reproduction",
    "retrieval_markdown",
    "seeds_markdown",
    "usable_seeds",
    "write_report",
]

# the report's rows, in its order: (a results file, by stem; the claims function that makes rows of it)
ROWS = (
    (accuracy.RESULTS, accuracy.codebook_rows),
    (headline.RESULTS, headline.goal_rows),
    (recipe_choice.RESULTS, recipe_choice.rows),
    (accuracy.RESULTS, accuracy.ablation_rows),
    (fast_codebook.RESULTS, fast_codebook.rows),
    (retrieval.RESULTS, retrieval.rows),
    (ood.RESULTS, ood.rows),
    (taxonomy.RESULTS, taxonomy.rows),
    (separability.RESULTS, separability.rows),
    (separability.INTERPRETABILITY_RESULTS, separability.interpretability_rows),
)


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


def paper_vs_reproduction(res: dict[str, dict], profile=None) -> tuple[str, list[Row]]:
    """Markdown report and a list of {claim, paper, ours, holds} rows from the notebooks' results (``ROWS``,
    judged over the seed study where it may judge them). ``profile``: the ``config.Profile`` they come from (its
    data subset is stated; the smoke profile's report says on top that its numbers are not results)."""
    acc = res.get(accuracy.RESULTS)
    seeds, ignored = usable_seeds(res.get(SEEDS), res.get(headline.RESULTS))
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
    k = accuracy.table_bits(acc)
    lines += [
        f"Paper: {PAPER['dataset']}. Ours: CIFAR-100 (100 classes, {split}), "
        f"{'n/a' if k is None else f'k = {k} bits (= 2 ceil(log2 100))'}.",
        "",
    ]
    lines += accuracy.codebook_markdown(acc)
    rows = judge_over_seeds([r for stem, rows_of in ROWS for r in rows_of(res.get(stem), seeds, profile)], seeds)
    lines += [f"**Noise rule.** {NOISE_RULE}", ""]
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
    ("recipe:", "instance-codes"),
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
    seeds, _ = usable_seeds(res.get(SEEDS), res.get(headline.RESULTS))
    out = []
    for r in rows:
        topic = next((t for start, t in CLAIM_TOPICS if r["claim"].startswith(start)), None)
        if topic is None:
            raise KeyError(f"claim {r['claim']!r} has no topic in report.CLAIM_TOPICS")
        n = r.get("over_seeds", 1)
        verdict = {"claim": r["claim"], "holds": r["holds"], "verdict": _holds(r["holds"])}
        out.append(verdict | {"seeds": n, "topic": topic})
    return out


# the results files the report needs (the notebooks that write them); the others it uses where they are
REPORT_INPUTS = (accuracy.RESULTS, taxonomy.RESULTS, separability.RESULTS, retrieval.RESULTS, ood.RESULTS)


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
                "inputs": {name: r.get(RUN) for name, r in res.items()},
            },
        },
        ctx.out / "results.json",
    )
    ctx.publish()
    return md, res

"""One runner for the tables and logs of docs/measurements/ that are printed from committed files.

The rule: a log under docs/measurements/logs/ that was printed from committed files (results JSON, another
log, a file as committed at a revision) has a name here, ``LOGS``, with the printer and the inputs that made
it, and ``run.py NAME`` prints it again, byte for byte. Each printer reads and formats, and computes nothing
but means, medians, sums and differences. Measurements that train, time or read uncommitted checkpoints keep
their own scripts beside this one (eval_batch.py, microbatch_step.py, phase1_microbatch.py,
warm_start_control.py, cold_estimate.py, stranger_check.sh); the ledger (docs/measurements/README.md) names
them. Usage, from anywhere in the repository:

    python docs/measurements/logs/run.py                  # the names of the logs and of the printers
    python docs/measurements/logs/run.py NAME             # the committed log NAME.log, printed again
    python docs/measurements/logs/run.py --check [NAME]   # each (or one) named log against its committed text
    python docs/measurements/logs/run.py PRINTER ARG...   # a printer on other inputs, e.g.
                                                          #   run.py variants_table docs/measurements/X.json

An input written REV:PATH (REV a commit) is read from git as committed at REV, so that a log whose inputs were
re-made since (``figures/``) still prints as it was. A variant is FILE:NAME, a row of a ``variants`` JSON file.
Relative paths are taken from the repository root.
"""

import argparse
import contextlib
import io
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))

from cost_rule import costs, mean_costs  # noqa: E402  (the script's folder)

REV_PATH = re.compile(r"([0-9a-f]{7,40}):(.+)")


def read_text(arg: str) -> str:
    """A file of the working tree (relative to the repository root), or REV:PATH as committed at REV."""
    m = REV_PATH.fullmatch(arg)
    if m:
        return subprocess.run(["git", "-C", str(ROOT), "show", arg], check=True, capture_output=True, text=True).stdout
    return (ROOT / arg).read_text(encoding="utf-8", errors="replace")


def read_json(arg: str):
    return json.loads(read_text(arg))


def variant(spec: str) -> dict:
    """FILE:NAME -> the row NAME of a ``python -m llc_lib variants`` JSON file."""
    path, name = spec.rsplit(":", 1)
    return read_json(path)[name]


def variants_table(argv):
    """Per variant, split and k of ``variants`` JSON files: class-code accuracy, MHD, ED, bits right, R, W and
    P(exact | class code right) (percent where a fraction), then Phase 2's per-epoch training loss and its
    median seconds per epoch. Args: FILE.json [FILE.json ...]"""
    rows, losses = [], []
    for path in argv:
        for name, v in read_json(path).items():
            if not isinstance(v, dict) or "phase2_history" not in v:
                continue
            hist = v["phase2_history"]
            for split in ("train", "test"):
                for k, r in v[split].items():
                    rows.append(
                        f"| {name} | {len(hist)} | {split} | {k} | {100 * r['class_code_acc']:.1f} | "
                        f"{100 * r['mhd_acc']:.1f} | {100 * r['ed_acc']:.1f} | {r['bits_right']:.2f} | "
                        f"{r['bits_right_if_class_code_right']:.2f} | {r['bits_right_if_class_code_wrong']:.2f} | "
                        f"{r['p_exact_given_class_code_right']:.3f} |"
                    )
            loss = [h["loss"] for h in hist]
            losses.append(
                f"| {name} | {len(hist)} | {loss[0]:.4f} | {loss[len(loss) // 2 - 1]:.4f} | {loss[-3]:.4f} | "
                f"{loss[-2]:.4f} | {loss[-1]:.4f} | {statistics.median(h['seconds'] for h in hist):.1f} |"
            )
    print("| variant | epochs | split | k | class-code | MHD | ED | bits right | R | W | P(exact given right) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print(
        "| variant | epochs | loss, epoch 1 | loss, half-way | loss, 3rd last | 2nd last | last | median s per epoch |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(losses))


def variant_verdicts(argv):
    """Does a recipe change cost accuracy? Variant B against variant A on the test split (on the validation
    split when the files hold one: variants trained with images held out): no number may fall by
    2 seed standard deviations or more (``cost_rule.costs``; the sds of a seed study, figures/seeds.json).
    Also the change of bits right and ED at 20 bits on the training images, for the convergence rule of
    phase2_convergence_cpu_seed0.md: converged when doubling the epochs adds < 0.1 bit and < 2 points.
    Args: A_FILE:A_NAME B_FILE:B_NAME [--seeds figures/seeds.json] [--no-doubling: B is not A with twice the
    epochs, so the convergence line is left out]"""
    ap = argparse.ArgumentParser(prog="run.py variant_verdicts")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--seeds", default="figures/seeds.json")
    ap.add_argument("--no-doubling", action="store_true")
    args = ap.parse_args(argv)
    a, b = variant(args.a), variant(args.b)
    sd = read_json(args.seeds)["numbers"]
    split = "validation" if "validation" in a else "test"
    if split not in b:
        raise SystemExit(f"{args.b} has no {split} split, as {args.a} has: compare variants scored on one split")
    ok = True
    print("| k | number | A | B | B - A | 2 seed sd | verdict |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for k in ("14", "20"):
        for m in ("class_code_acc", "mhd_acc", "ed_acc", "p_exact_given_class_code_right"):
            va, vb, s = a[split][k][m], b[split][k][m], sd[f"llc_{m}@{k}"]["std"]
            fine = not costs(vb - va, s)
            ok &= fine
            print(
                f"| {k} | {m} | {va:.4f} | {vb:.4f} | {vb - va:+.4f} | {2 * s:.4f} | {'no cost' if fine else 'COSTS'} |"
            )
    print(f"\nB costs nothing against A on the {split} split (every number within 2 seed sds): {'yes' if ok else 'no'}")
    if args.no_doubling:
        return
    tr_a, tr_b = a["train"]["20"], b["train"]["20"]
    d_bits, d_ed = tr_b["bits_right"] - tr_a["bits_right"], 100 * (tr_b["ed_acc"] - tr_a["ed_acc"])
    print(
        f"training images, 20 bits: bits right {tr_a['bits_right']:.2f} -> {tr_b['bits_right']:.2f} "
        f"({d_bits:+.2f}), ED {100 * tr_a['ed_acc']:.1f} -> {100 * tr_b['ed_acc']:.1f} % ({d_ed:+.1f} points); "
        f"if B is A with twice the Phase 2 epochs, A has converged: {'yes' if d_bits < 0.1 and d_ed < 2 else 'no'}"
    )


# the numbers paired_verdicts judges, each higher-is-better: class-code accuracy of Phase 1 and of Phase 2's own
# decision, MHD, ED, bits right, P(exact | Phase 2 right) (the primary conditioning) and P(exact | Phase 1 right)
PAIRED_NUMBERS = (
    "class_code_acc",
    "phase2_class_acc",
    "mhd_acc",
    "ed_acc",
    "bits_right",
    "p_exact_given_phase2_class_right",
    "p_exact_given_class_code_right",
)


def scored_variant(spec: str) -> tuple[dict, tuple[str, tuple[str, ...], str]]:
    """FILE:NAME -> (the row NAME of a ``variants`` JSON file, the images it was scored on: (its split,
    'validation' or 'test'; the overrides of its file's run, e.g. ('holdout=50',); the sha256 of the validation
    images, or '' for a test split))."""
    path, name = spec.rsplit(":", 1)
    d = read_json(path)
    row, run = d[name], d.get("run", {})
    split = "validation" if "validation" in row else "test"
    sha = [v for k, v in run.get("data_sha256", {}).items() if "/validation/" in k]
    return row, (split, tuple(run.get("overrides", ())), sha[0] if sha and split == "validation" else "")


def recipe_fields(row: dict) -> dict:
    """A variant row's Phase 1 and Phase 2 recipe as {'llc.FIELD' or 'instance.FIELD': value}, the seed left out;
    ``cpu_bf16``, absent from rows written before it existed, is its default False there."""
    return {
        f"{model}.{field}": value
        for model in ("llc", "instance")
        for field, value in {"cpu_bf16": False, **row["recipe"][model]}.items()
        if field != "seed"
    }


def paired_verdicts(argv):
    """Does a recipe change cost accuracy, over several seeds? Pairs A B of variants, each pair one seed (both
    rows trained with that seed; the validation split when the rows hold one, else the test split). Per number,
    each seed's change B - A, their mean and the standard error of the mean (sample sd / sqrt(n)); B costs when
    the mean falls by 2 seed sds or more (``cost_rule.mean_costs``; the sds of a seed study, figures/seeds.json).
    The sample sd of A's numbers over the seeds is printed beside the seed study's, as a check of that sd; it
    does not enter the verdict. Refused: rows scored on different images (split, the file's overrides, the
    validation images' sha256), pairs of one seed twice, a pair whose two rows have different seeds, or A rows
    (or B rows) whose recipes differ in more than the seed. Numbers: ``PAIRED_NUMBERS`` at 14 and 20
    bits. Args: A_FILE:A_NAME B_FILE:B_NAME [A_FILE:A_NAME B_FILE:B_NAME ...] [--seeds figures/seeds.json]"""
    ap = argparse.ArgumentParser(prog="run.py paired_verdicts")
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--seeds", default="figures/seeds.json")
    args = ap.parse_args(argv)
    if len(args.variants) % 2:
        raise SystemExit("paired_verdicts takes variants in pairs A B: an odd number was given")
    rows, scored = zip(*(scored_variant(spec) for spec in args.variants))
    if len(set(scored)) > 1:
        raise SystemExit(f"the rows were scored on different images {sorted(set(scored))}: pair rows of one split")
    pairs, split = list(zip(rows[::2], rows[1::2])), scored[0][0]
    seeds = [a["seed"] for a, _ in pairs]
    if any(a["seed"] != b["seed"] for a, b in pairs):
        raise SystemExit(
            f"pairs trained with seeds {[(a['seed'], b['seed']) for a, b in pairs]}: pair rows of one seed"
        )
    if len(set(seeds)) < len(seeds):
        raise SystemExit(f"pairs of seeds {seeds}: each seed may be one pair only")
    for side, rows in (("A", [a for a, _ in pairs]), ("B", [b for _, b in pairs])):
        if any(recipe_fields(r) != recipe_fields(rows[0]) for r in rows):
            raise SystemExit(f"the {side} rows of seeds {seeds} differ in their recipe, not only in the seed")
    ra, rb = recipe_fields(pairs[0][0]), recipe_fields(pairs[0][1])
    changed = sorted(f for f in ra.keys() | rb.keys() if ra.get(f) != rb.get(f))
    sd = read_json(args.seeds)["numbers"]
    n = len(pairs)
    print(f"B - A changes {', '.join(changed) or 'nothing of the recipe'}; seeds {seeds}; {split} split")
    print()
    print(
        "| k | number | mean A | mean B | "
        + " | ".join(f"B - A, seed {s}" for s in seeds)
        + " | mean B - A | its se | 2 seed sd | sd of A over the seeds | verdict |"
    )
    print("|---:|---|---:|---:|" + "---:|" * n + "---:|---:|---:|---:|---|")
    ok = True
    for k in ("14", "20"):
        for m in PAIRED_NUMBERS:
            va = [a[split][k][m] for a, _ in pairs]
            ch = [b[split][k][m] - a[split][k][m] for a, b in pairs]
            s = sd[f"llc_{m}@{k}"]["std"]
            se = statistics.stdev(ch) / n**0.5 if n > 1 else float("nan")
            sa = statistics.stdev(va) if n > 1 else float("nan")
            fine = not mean_costs(ch, s)
            ok &= fine
            print(
                f"| {k} | {m} | {statistics.mean(va):.4f} | {statistics.mean(b[split][k][m] for _, b in pairs):.4f} | "
                + " | ".join(f"{c:+.4f}" for c in ch)
                + f" | {statistics.mean(ch):+.4f} | {se:.4f} | {2 * s:.4f} | {sa:.4f} | "
                f"{'no cost' if fine else 'COSTS'} |"
            )
    print(
        f"\nB costs nothing against A over {n} seeds on the {split} split (every mean within 2 seed sds): "
        f"{'yes' if ok else 'no'}"
    )


def adopted_vs_variant(argv):
    """The headline's Phase 2 as the profile trained it against the same recipe measured as a variant, on the
    test images at 14 and 20 bits: both numbers, their difference and the seed study's sample sd of the number.
    Args: HEADLINE_RESULTS.json FILE:NAME [--seeds figures/seeds.json]"""
    ap = argparse.ArgumentParser(prog="run.py adopted_vs_variant")
    ap.add_argument("headline")
    ap.add_argument("variant")
    ap.add_argument("--seeds", default="figures/seeds.json")
    args = ap.parse_args(argv)
    h = read_json(args.headline)
    path, name = args.variant.rsplit(":", 1)
    v = read_json(path)[name]
    sd = {k: s["std"] for k, s in read_json(args.seeds)["numbers"].items()}
    prov = h["run"]["provenance"]
    print(
        f"headline: {h['checkpoints']['llc_phase2']}, evaluated on {prov['cpu']} ({prov['cpu_capability']}, "
        f"{prov['threads']} threads)"
    )
    print(f"variant {name}: {path}\n")
    print("| k | number | profile (headline) | variant | difference | seed sd |")
    print("|---:|---|---:|---:|---:|---:|")
    for k in ("14", "20"):
        for m in (
            "class_code_acc",
            "mhd_acc",
            "ed_acc",
            "bits_right",
            "p_exact_given_class_code_right",
            "bits_right_if_class_code_right",
            "bits_right_if_class_code_wrong",
        ):
            a, b = h["llc"][k][m], v["test"][k][m]
            s = sd.get(f"llc_{m}@{k}")
            print(f"| {k} | {m} | {a:.4f} | {b:.4f} | {a - b:+.4f} | {'' if s is None else f'{s:.4f}'} |")


def diagnostics_table(argv):
    """The tables of ``python -m llc_lib diagnose`` JSON files side by side, labelled by file name: (a) the
    trained and the refitted head per split and k, the refit's per-bit training accuracy; (b) the codebook
    entries; (c) the nearest-code distances, means and histograms. Args: A.json [B.json ...]"""
    runs = [(Path(a).stem, read_json(a)) for a in argv]
    print("| file | split | k | head | ED | MHD | bits right | R | W | P(exact given right) |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for name, d in runs:
        for split in ("train", "test"):
            for k in map(str, d["bits"]):
                for head in ("trained_head", "refitted_head"):
                    r = d[head][split][k]
                    print(
                        f"| {name} | {split} | {k} | {head.split('_')[0]} | {100 * r['ed_acc']:.1f} | "
                        f"{100 * r['mhd_acc']:.1f} | {r['bits_right']:.2f} | {r['R']:.2f} | {r['W']:.2f} | "
                        f"{r['p_exact_given_right']:.3f} |"
                    )
    print()
    print("| file | split | k | ED refitted - trained (points) | P(exact given right) refitted - trained |")
    print("|---|---|---:|---:|---:|")
    for name, d in runs:
        for split in ("train", "test"):
            for k in map(str, d["bits"]):
                t, r = d["trained_head"][split][k], d["refitted_head"][split][k]
                print(
                    f"| {name} | {split} | {k} | {100 * (r['ed_acc'] - t['ed_acc']):+.1f} | "
                    f"{r['p_exact_given_right'] - t['p_exact_given_right']:+.3f} |"
                )
    print()
    print("| file | refit: bits | converged | iterations | training accuracy per bit (min, mean, max) |")
    print("|---|---:|---:|---|---|")
    for name, d in runs:
        per = d["refit"]["per_bit"]
        acc = [b["train_acc"] for b in per]
        its = [b["iterations"] for b in per]
        print(
            f"| {name} | {len(per)} | {sum(b['converged'] for b in per)} | {min(its)}-{max(its)} | "
            f"{min(acc):.3f}, {sum(acc) / len(acc):.3f}, {max(acc):.3f} |"
        )
    print()
    print(
        "| file | Spearman |C| vs error | error by |C| quintile (smallest first) | mean error | entries > half wrong "
        "| majority-sign changes | majority-sign ED@20 test | learnt ED@20 test |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, d in runs:
        c = d["codebook_entries"]
        q = ", ".join(f"{e:.2f}" for e in c["error_by_abs_C_quintile"])
        maj = c["majority_sign_codebook_test"]["20"]["ed_acc"]
        print(
            f"| {name} | {c['spearman_abs_C_vs_error']:.2f} | {q} | {c['mean_error']:.3f} | "
            f"{c['entries_over_half_wrong']} | {c['majority_sign_changes']} | {100 * maj:.1f} | "
            f"{100 * d['trained_head']['test']['20']['ed_acc']:.1f} |"
        )
    print()
    print("| file | k | learnt: mean distance to the nearest other class code | random (mean over draws) |")
    print("|---|---:|---:|---:|")
    for name, d in runs:
        for k in map(str, d["bits"]):
            g = d["geometry"][k]
            print(f"| {name} | {k} | {g['learnt_mean']:.2f} | {g['random_mean']:.2f} |")
    print()
    print("| file | k | codes | classes at nearest-code distance 0, 1, 2, ... bits |")
    print("|---|---:|---|---|")
    for name, d in runs:
        for k in map(str, d["bits"]):
            g = d["geometry"][k]
            last = max(i for i, (a, b) in enumerate(zip(g["learnt_hist"], g["random_hist_per_draw"])) if a or b)
            print(f"| {name} | {k} | learnt | {', '.join(str(c) for c in g['learnt_hist'][: last + 1])} |")
            print(
                f"| {name} | {k} | random (mean per draw) | "
                f"{', '.join(f'{c:.1f}' for c in g['random_hist_per_draw'][: last + 1])} |"
            )
    print()
    print("| file | random codes for 1000 classes, 20 bits: mean distance to the nearest other class code |")
    print("|---|---:|")
    for name, d in runs:
        print(f"| {name} | {d['geometry']['random_1000_classes_20_bits_mean']:.2f} |")


def cold_run_times(argv):
    """Where the time of a `make reproduce` went, from its log alone: per model it fitted (``-m llc_lib fit
    --profile P --key KEY`` lines, or ``=== fit KEY`` lines of a script that fits keys one by one) its epochs
    and the seconds its epoch lines report (``seconds=``: the optimisation only, not loading or saving); per
    notebook the "done in" seconds (notebook 01 only evaluates: `make` fits every checkpoint before the
    notebook that needs it); and the total wall time the Makefile printed. Args: LOG"""
    (path,) = argv
    log = read_text(path)
    models, key = {}, None
    for line in log.splitlines():
        line = line.split("\r")[-1]
        fit = re.search(r"(?:-m llc_lib fit --profile \w+ --key|^=== fit) (\w+)", line)
        if fit:
            key = fit.group(1)
            models[key] = []
        epoch = re.match(r"\[(\w+) k=(\S+)\] epoch \d+/\d+ .*seconds=([0-9.]+)", line)
        if epoch and key:
            models[key].append((f"{epoch.group(1)} k={epoch.group(2)}", float(epoch.group(3))))
    train = 0.0
    for key, rows in models.items():
        s = sum(sec for _, sec in rows)
        train += s
        print(
            f"{rows[0][0] if rows else '?':16s} {key}  {len(rows):3d} epochs {s:7.0f} s  "
            f"({s / max(1, len(rows)):5.1f} s per epoch)"
        )
    print(f"training, {len(models)} models: {train:.0f} s ({train / 60:.1f} min)")
    for name, sec in re.findall(r"== notebooks/(\S+)\.ipynb \(cpu\).*?done in ([0-9]+) s", log, flags=re.S):
        print(f"notebook {name:30s} done in {sec:>5s} s")
    total = re.findall(r"total wall time ([0-9]+) s", log)
    print(
        f"make reproduce (cpu): total wall time {total[-1]} s = {int(total[-1]) / 60:.1f} min"
        if total
        else "make reproduce (cpu): no total wall time in the log (it did not finish)"
    )


# key in the timed cold run of 2026-12-02 -> (what, epochs now): the changes of epochs since that run
NEW_EPOCHS = {
    "2856c1cfbf6c": ("LLC Phase 2 (headline), lr 0.2, micro-batches of 64", 30),
    "e5fac4291706": ("OOD Phase 2 (keeps Phase 2's ratio to Phase 1: 30/15 x 8)", 16),
    "3565aeeab724": ("CSQ at its published length", 24),
}


# slower days of the timed run's host: (the day, its Phase 2 seconds per epoch over the timed run's 34.9)
SLOWER_DAYS = (("2026-12-01 (46 s per Phase 2 epoch)", 46 / 34.9), ("2026-12-02 night (63.2 s)", 63.2 / 34.9))


def timed_models(text: str) -> list[tuple[str, str, int, float]]:
    """(kind, key, epochs, seconds) of every model line ``cold_run_times`` printed for a timed run."""
    found = re.findall(r"^(\w+ k=\S+)\s+([0-9a-f]{12})\s+(\d+) epochs\s+(\d+) s", text, re.M)
    return [(kind, key, int(epochs), float(seconds)) for kind, key, epochs, seconds in found]


def adopted_training(text: str) -> tuple[list[str], float, float, float]:
    """From what ``cold_run_times`` printed for a timed run: (a line per model of ``NEW_EPOCHS``, the training
    seconds with those models at their new epochs, the training seconds as timed, the rest of the run as timed:
    notebooks, starting processes, loading data)."""
    lines, train = [], 0.0
    for kind, key, epochs, seconds in timed_models(text):
        if key in NEW_EPOCHS:
            what, now = NEW_EPOCHS[key]
            lines.append(
                f"{kind:14s} {key}: {epochs} -> {now} epochs at {seconds / epochs:.1f} s = "
                f"{seconds / epochs * now:.0f} s ({what})"
            )
            seconds = seconds / epochs * now
        train += seconds
    total = float(re.search(r"total wall time (\d+) s", text).group(1))
    old_train = float(re.search(r"training, \d+ models: (\d+) s", text).group(1))
    return lines, train, old_train, total - old_train


def cold_estimate_adopted(argv):
    """A cold `make reproduce PROFILE=cpu` after a change of epochs, estimated from the timed cold run: reads
    what ``cold_run_times`` printed for it (its model, notebook and total lines) and counts each model of
    ``NEW_EPOCHS`` at its new epochs times its own per-epoch seconds in that run (same machine, same day);
    a model whose recipe changed in another way (micro-batches) at its old per-epoch seconds. Then the same
    at the Phase 2 speeds of two slower days (46 and 63.2 s per epoch against 34.9). Args: LOG"""
    (path,) = argv
    lines, train, old_train, other = adopted_training(read_text(path))
    print("\n".join(lines))
    print(f"training {old_train:.0f} -> {train:.0f} s; notebooks and the rest {other:.0f} s (as timed)")
    print(
        f"estimated cold run: {(train + other):.0f} s = {(train + other) / 60:.0f} min on the timed run's "
        f"machine and day"
    )
    for day, factor in SLOWER_DAYS:
        print(f"  at the speed of {day}: x{factor:.2f} = {(train + other) * factor / 60:.0f} min")


# models a cold run trains now that the timed run of 2026-12-02 did not: key -> (what, epochs, the key in that
# run whose per-epoch seconds it is counted at: a similar step on the same backbone)
ADDED = {
    "4cfaa3c4969b": ("real-valued classifier, 30 more epochs on Phase 2's schedule (equal budget)", 30, "2856c1cfbf6c"),
    "00a5adf15809": ("real-valued 64-d features, 30 more on Phase 2's schedule (equal budget)", 30, "2856c1cfbf6c"),
    "839dca63d933": ("warm-start control: Phase 1 on the real-valued backbone, default head", 4, "6e3b0cfc69ae"),
}

# added after the estimate of 2026-12-07 was logged (``cold_estimate_added --later``), in the same form
ADDED_LATER = {
    "27362218a47e": (
        "the OOD study's real-valued model, 16 more epochs on Phase 2's schedule (equal budget)",
        16,
        "e5fac4291706",
    ),
}


# what would shorten the cold run, each as the keys it drops or halves (key -> epochs kept)
CUTS = {
    "the OOD study at half its epochs": {"ef8a91e5d1c7": 4, "788dd2a272f9": 4, "e5fac4291706": 8, "27362218a47e": 8},
    "one equal-budget continuation for both comparisons": {"4cfaa3c4969b": 0},
}


def bench_ratios(bench: str) -> tuple[float, float]:
    """(two trainings at a time with one thread each, one training under bf16 autocast), each as its images per
    second over one float32 training's, from the table of a ``benchmarks/bench_jobs.py`` log BENCH."""
    rows = dict(re.findall(r"^\| (\d+ jobs?, [^|]+?) \| ([0-9.]+) \|", read_text(bench), re.M))  # images/s
    one = float(next(v for name, v in rows.items() if name.startswith("1 job") and "bf16" not in name))
    two = next(v for name, v in rows.items() if "1 thread each" in name)
    return float(two) / one, float(next(v for name, v in rows.items() if "bf16" in name)) / one


def cold_estimate_added(argv):
    """``cold_estimate_adopted`` with the models added since (``ADDED``), each at the per-epoch seconds of the
    model of the timed run that takes a similar step on the same backbone; then the speed-up of the training
    that the cold run needs to fit two hours, with the rest (notebooks, processes, data) as timed; then the
    cold run with each cut of ``CUTS``, and with two trainings at a time (one thread each) or with every
    training under bf16 autocast, each at its ratio in the benchmark log BENCH (``benchmarks/bench_jobs.py``,
    whole batches: measured on another host, applied to this one's seconds), alone and combined. Two trainings
    at a time are counted as if two were always ready to run: an optimistic bound. Last, every model as now on
    the slower days of that host (``SLOWER_DAYS``). Args: LOG BENCH [--later: also the models of
    ``ADDED_LATER``]"""
    later, files = "--later" in argv, [a for a in argv if a != "--later"]
    if len(files) != 2:
        raise SystemExit(f"cold_estimate_added takes LOG BENCH [--later], got {argv}")
    path, bench = files
    added_models = {**ADDED, **(ADDED_LATER if later else {})}
    text = read_text(path)
    models = timed_models(text)
    per_epoch = {key: seconds / epochs for _, key, epochs, seconds in models}
    lines, train, _, other = adopted_training(text)
    print("\n".join(lines))
    added = 0.0
    for key, (what, epochs, like) in added_models.items():
        seconds = per_epoch[like] * epochs
        added += seconds
        print(f"added {key}: {epochs} epochs at {per_epoch[like]:.1f} s (as {like}) = {seconds:.0f} s ({what})")
    total = train + added + other
    print(f"training {train:.0f} + {added:.0f} = {train + added:.0f} s; notebooks and the rest {other:.0f} s")
    print(f"estimated cold run: {total:.0f} s = {total / 60:.0f} min on the timed run's machine and day")
    print(f"to fit 7200 s, the training must run {(train + added) / (7200 - other):.2f}x as fast")
    two_jobs, bf16 = bench_ratios(bench)
    speeds = {
        "": 1.0,
        ", two trainings at a time with one thread each": two_jobs,
        ", every training under bf16 autocast": bf16,
    }
    epochs = {key: n for _, key, n, _ in models}  # now: the timed run's, changed and added models
    epochs.update({key: n for key, (_, n) in NEW_EPOCHS.items()})
    epochs.update({key: n for key, (_, n, _) in added_models.items()})
    seconds = {**per_epoch, **{key: per_epoch[like] for key, (_, _, like) in added_models.items()}}
    saved = {  # of the models this estimate counts
        cut: sum(seconds[k] * (epochs[k] - kept) for k, kept in keys.items() if k in epochs)
        for cut, keys in CUTS.items()
    }
    print("with cuts (seconds saved) and faster trainings:")
    for cuts in [()] + [(c,) for c in CUTS] + [tuple(CUTS)]:
        for how, speed in speeds.items():
            t = (train + added - sum(saved[c] for c in cuts)) / speed + other
            what = " + ".join(f"{c} (-{saved[c]:.0f} s)" for c in cuts) or "every model as now"
            how = f"{how} (x{speed:.2f})" if how else ""
            print(f"  {what}{how}: {t:.0f} s = {t / 60:.0f} min ({'within' if t <= 7200 else 'over'} two hours)")
    print("every model as now, on the slower days of the timed run's host (training and the rest alike):")
    for how, speed in speeds.items():
        for day, factor in SLOWER_DAYS:
            t = ((train + added) / speed + other) * factor
            what = how.lstrip(", ") or "float32, one training at a time"
            print(f"  {what}, at the speed of {day}: {t / 60:.0f} min ({'within' if t <= 7200 else 'over'} two hours)")


def cold_estimate_bf16_but_phase2(argv):
    """``cold_estimate_added``'s cold run with every training under bf16 autocast but the instance codes' Phase 2
    (the timed run's models of kind ``instance``, at the epochs of ``NEW_EPOCHS`` where it names them), which
    stays float32. Prints a line per float32 model (its seconds), then the float32 seconds, the bf16 seconds
    divided by the bf16 ratio of the benchmark log BENCH (whole batches), the rest as timed, their sum and
    whether it is within two hours; then that sum on the slower days of that host (``SLOWER_DAYS``). The added
    models (``ADDED``: real-valued continuations and a Phase 1) are counted under bf16. Args: LOG BENCH"""
    path, bench = argv
    text = read_text(path)
    models = timed_models(text)
    _, train, _, other = adopted_training(text)
    per_epoch = {key: seconds / epochs for _, key, epochs, seconds in models}
    added = sum(per_epoch[like] * epochs for _, epochs, like in ADDED.values())
    now = {key: NEW_EPOCHS.get(key, (None, epochs))[1] for _, key, epochs, _ in models}
    fp32 = {f"{kind} {key}": per_epoch[key] * now[key] for kind, key, _, _ in models if kind.startswith("instance")}
    _, speed = bench_ratios(bench)
    bf16 = train + added - sum(fp32.values())
    for model, seconds in fp32.items():
        print(f"float32: {model} {seconds:.0f} s")
    t = sum(fp32.values()) + bf16 / speed + other
    print(
        f"float32 {sum(fp32.values()):.0f} s + bf16 {bf16:.0f} s / {speed:.2f} + the rest {other:.0f} s = {t:.0f} s "
        f"= {t / 60:.0f} min on the timed run's machine and day ({'within' if t <= 7200 else 'over'} two hours)"
    )
    for day, factor in SLOWER_DAYS:
        slow = t * factor
        print(f"  at the speed of {day}: {slow / 60:.0f} min ({'within' if slow <= 7200 else 'over'} two hours)")


def csq_schedule(argv):
    """CSQ at two schedules, from two retrieval results (notebook 06's JSON): tie-aware MAP@R (%) of CSQ,
    HashNet and LLC at every k, each baseline's epochs and published length, and the last three epochs'
    training loss of CSQ. Args: REV:figures/06_retrieval.json [...]"""
    runs = [(arg, read_json(arg)) for arg in argv]
    bits = runs[0][1]["bits"]
    print(
        "| result | CSQ epochs (published) | HashNet epochs (published) | CSQ loss, last 3 epochs | "
        + " | ".join(f"CSQ {k}" for k in bits)
        + " | "
        + " | ".join(f"HashNet {k}" for k in bits)
        + " | "
        + " | ".join(f"LLC {k}" for k in bits)
        + " |"
    )
    print("|---|---:|---:|---|" + "---:|" * 3 * len(bits))
    for arg, r in runs:
        s = r["hash_schedules"]
        maps = [
            f"{100 * r['methods'][m][str(k)]['map_tie_aware']:.2f}" for m in ("CSQ", "HashNet", "LLC") for k in bits
        ]
        print(
            f"| `{arg}` | {s['csq']['epochs']} ({s['csq']['published_epochs']:.1f}) | {s['hashnet']['epochs']} "
            f"({s['hashnet']['published_epochs']:.1f}) | {', '.join(f'{v:.4f}' for v in s['csq']['loss'][-3:])} | "
            + " | ".join(maps)
            + " |"
        )


PRINTERS = {
    f.__name__: f
    for f in (
        variants_table,
        variant_verdicts,
        paired_verdicts,
        adopted_vs_variant,
        diagnostics_table,
        cold_run_times,
        cold_estimate_adopted,
        cold_estimate_added,
        cold_estimate_bf16_but_phase2,
        csq_schedule,
    )
}

M = "docs/measurements"
# every committed log printed from committed files: its name (the log's file name without .log) -> the printer
# and the inputs that printed it; inputs re-made since are read as committed when the log was
LOGS = {
    "adopted_vs_variant_2026-12-02": (
        "adopted_vs_variant",
        [
            "9b4df1d:figures/headline_results.json",
            f"{M}/phase2_lr_cpu_seed0.json:p2-lr0.2-2x-micro64",
            "--seeds",
            "9b4df1d:figures/seeds.json",
        ],
    ),
    "cold_estimate_adopted_2026-12-02": ("cold_estimate_adopted", [f"{M}/logs/cold_run_times_2026-12-02.log"]),
    "cold_estimate_2026-12-07": (
        "cold_estimate_added",
        [f"{M}/logs/cold_run_times_2026-12-02.log", f"{M}/logs/bench_jobs_2026-12-07.log"],
    ),
    "cold_estimate_ood_equal_budget_2026-12-07": (
        "cold_estimate_added",
        [f"{M}/logs/cold_run_times_2026-12-02.log", f"{M}/logs/bench_jobs_2026-12-07.log", "--later"],
    ),
    "cold_estimate_bf16_but_phase2_2026-12-07": (
        "cold_estimate_bf16_but_phase2",
        [f"{M}/logs/cold_run_times_2026-12-02.log", f"{M}/logs/bench_jobs_2026-12-07.log"],
    ),
    "cold_run_times_2026-12-02": ("cold_run_times", [f"{M}/logs/cpu_cold_reproduce_2026-12-02.log"]),
    "bf16_verdicts_2026-12-07": (
        "variant_verdicts",
        [
            "c54a92c:figures/recipe_choice.json:profile",
            f"{M}/bf16_cpu_seed0.json:all-bf16",
            "--seeds",
            "c54a92c:figures/seeds.json",
            "--no-doubling",
        ],
    ),
    "bf16_but_p2_paired_verdicts_2026-12-07": (
        "paired_verdicts",
        [
            "0d91737:figures/recipe_choice.json:profile",
            f"{M}/bf16_but_p2_cpu_seed0.json:bf16-but-p2",
            f"{M}/bf16_cpu_seed1.json:profile",
            f"{M}/bf16_but_p2_cpu_seed1.json:bf16-but-p2",
            f"{M}/bf16_cpu_seed2.json:profile",
            f"{M}/bf16_but_p2_cpu_seed2.json:bf16-but-p2",
            "--seeds",
            "0d91737:figures/seeds.json",
        ],
    ),
    "bf16_paired_verdicts_2026-12-07": (
        "paired_verdicts",
        [
            "0d91737:figures/recipe_choice.json:profile",
            f"{M}/bf16_cpu_seed0.json:all-bf16",
            f"{M}/bf16_cpu_seed1.json:profile",
            f"{M}/bf16_cpu_seed1.json:all-bf16",
            f"{M}/bf16_cpu_seed2.json:profile",
            f"{M}/bf16_cpu_seed2.json:all-bf16",
            "--seeds",
            "0d91737:figures/seeds.json",
        ],
    ),
    "csq_schedule_2026-12-02": (
        "csq_schedule",
        ["16eb0e8:figures/06_retrieval.json", "9d69e15:figures/06_retrieval.json"],
    ),
    "diagnostics_table_2026-12-02": (
        "diagnostics_table",
        [f"{M}/phase2_diagnostics_cpu_seed0.json", f"{M}/phase2_diagnostics_adopted_cpu_seed0.json"],
    ),
    "phase2_adopted_2x_table_2026-12-02": ("variants_table", [f"{M}/phase2_adopted_2x_cpu_seed0.json"]),
    "phase2_adopted_2x_verdicts_2026-12-02": (
        "variant_verdicts",
        [
            f"{M}/phase2_lr_cpu_seed0.json:p2-lr0.2-2x-micro64",
            f"{M}/phase2_adopted_2x_cpu_seed0.json:p2-lr0.2-2x-micro64",
            "--seeds",
            "8c33004:figures/seeds.json",
        ],
    ),
}


def printed(name: str) -> str:
    """What ``run.py NAME`` prints for a named log."""
    printer, args = LOGS[name]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        PRINTERS[printer](args)
    return out.getvalue()


def check(names) -> list[str]:
    """The named logs whose committed text differs from what their printer prints now."""
    return [n for n in names if printed(n) != (HERE / f"{n}.log").read_text(encoding="utf-8")]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("\n".join(line.strip() for line in __doc__.splitlines() if line.startswith("    ")) + "\n")
        print("logs:     " + "\n          ".join(f"{n}  ({LOGS[n][0]})" for n in sorted(LOGS)))
        print("printers: " + "\n          ".join(f"{p}: {' '.join(PRINTERS[p].__doc__.split())}" for p in PRINTERS))
        return 0
    if argv[0] == "--check":
        names = argv[1:] or sorted(LOGS)
        bad = check(names)
        for n in names:
            print(f"{'DIFFERS' if n in bad else 'same   '} logs/{n}.log")
        return 1 if bad else 0
    if argv[0] in LOGS and len(argv) == 1:
        print(printed(argv[0]), end="")
        return 0
    if argv[0] in PRINTERS:
        PRINTERS[argv[0]](argv[1:])
        return 0
    print(f"unknown name {argv[0]!r}: run.py without arguments lists the logs and printers", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

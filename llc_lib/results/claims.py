"""The paper's numbers and the rule for each claim we test, in one place.

``PAPER`` holds numbers and statements quoted from the paper and its talk slides (../shared/paper), never
ours. ``THRESHOLDS`` holds every margin a verdict uses, and the functions below are the verdicts: the study
functions and the paper-vs-reproduction report call them and record the thresholds next to their verdicts.
A verdict is True, False, "within noise" (over seeds, see ``seed_verdict``) or None (numbers missing).
"""

from __future__ import annotations

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
    "near_real_mhd_points": 2.5,  # LLC MHD within this many points of the real-valued top-1 (paper: -2.4)
    "nested_prefix_points": 2.0,  # nested 20-bit prefix within this many points of a separate 20-bit run
    "taxonomy_ari_over_baselines": 0.05,  # LLC clusters beat the Random and SVD codes' ARI by at least this much
    "interpretability_alpha": 0.05,  # bits are "interpretable" when they align with superclasses beyond chance
    "seed_alpha": 0.05,  # one-sided level of the paired t-test over seeds (``seed_verdict``)
    "ood_samples_to_match": 1000,  # a tuned baseline needs at least this many samples to match ED
    "retrieval_llc_vs_real_points": 3.0,  # "about as good": 10-bit LLC within this many MAP points of real
    "fast_codebook_points": 2.0,  # a cheaply learnt codebook's MHD within this many points of the main codebook's
    "bits_right_goal": {"cpu": 18.5, "gpu": 19.0},  # mean bits right of 20-bit instance codes (paper: 19.2)
    # P(instance code exact | class code right) on the test images, per profile and k (the paper implies ~0.9)
    "p_exact_goal": {"cpu": {14: 0.75, 20: 0.5}, "gpu": {14: 0.85}},
    "R_goal": {"gpu": {20: 19.3}},  # bits right of images whose class code is right (paper: >= 19.2)
}


NOISE_RULE = (
    "Over seeds, a difference holds (or fails) only when a one-sided paired t-test over the seeds rejects "
    "at level 0.05 (t beyond the 95th percentile of Student's t with n - 1 degrees of freedom: 2.92 x the "
    'standard error for 3 seeds); otherwise it is "within noise". A row measured on one seed has no '
    "spread: its verdict compares the numbers against the row's threshold."
)


def warm_start_helps(warm_mhd: float, scratch_mhd: float) -> bool:
    """Warm starting LLC from a baseline codebook helps: its MHD beats LLC trained from scratch for the same
    number of epochs."""
    return warm_mhd > scratch_mhd


def nesting_cost(prefix_acc: float, single_acc: float) -> float:
    """What nesting costs: a separate run's accuracy minus the nested code's prefix's (positive: the prefix is
    worse), in the units given."""
    return single_acc - prefix_acc


def nested_is_free(prefix_acc: float, single_acc: float) -> bool:
    """A nested code's k-bit prefix costs at most ``THRESHOLDS['nested_prefix_points']`` of accuracy against a
    separate k-bit run (fractions in [0, 1])."""
    return prefix_acc >= single_acc - THRESHOLDS["nested_prefix_points"] / 100


def taxonomy_recovered(llc_ari: float, baseline_aris: list[float]) -> bool:
    """Clustering LLC's class codes recovers the superclasses better than every baseline codebook (ARI)."""
    return llc_ari > max(baseline_aris) + THRESHOLDS["taxonomy_ari_over_baselines"]


def fast_codebook_close(fast_mhd_points: float, main_mhd_points: float) -> bool:
    """The cheaply learnt codebook's MHD (%) is at most ``fast_codebook_points`` below the main codebook's, both
    trained by the same Phase 2."""
    return fast_mhd_points >= main_mhd_points - THRESHOLDS["fast_codebook_points"]


def bits_not_interpretable(p_value: float) -> bool:
    """The paper's claim "a single bit mixes unrelated classes": the superclass spans of LLC's bits are not
    smaller than those of random bits of the same balance (permutation test, ``p_value`` = the chance that
    random bits are as aligned)."""
    return p_value >= THRESHOLDS["interpretability_alpha"]


def ood_zero_sample_matches(samples_needed: list[int | None]) -> bool:
    """LLC's ED (0 samples) is as accurate as MSP tuned on many samples: on every set MSP needs at least
    ``THRESHOLDS['ood_samples_to_match']`` samples (None = never matches)."""
    return all(m is None or m >= THRESHOLDS["ood_samples_to_match"] for m in samples_needed)


# ----------------------------------------------------------- codebooks (the paper's table, same Phase 2 path)
def codebook_ranking(mhd: dict[str, float]) -> bool:
    """The paper's MHD ranking LLC > SVD > Random > CCA; ``mhd``: {'llc', 'svd', 'random', 'cca': accuracy}."""
    return mhd["llc"] > mhd["svd"] > mhd["random"] > mhd["cca"]


def llc_beats_baselines(mhd: dict[str, float]) -> bool:
    """LLC's codebook beats every baseline codebook in MHD accuracy."""
    return mhd["llc"] > max(v for name, v in mhd.items() if name != "llc")


def all_codes_unique(unique: int, num_classes: int) -> bool:
    return unique == num_classes


def near_real(llc_mhd_points: float, real_points: float) -> bool:
    """LLC's MHD accuracy within ``THRESHOLDS['near_real_mhd_points']`` of the real-valued top-1 (both in %)."""
    return real_points - llc_mhd_points <= THRESHOLDS["near_real_mhd_points"]


# ------------------------------------------------------------------------------------------------ retrieval
def beats(a: float, b: float) -> bool:
    """a > b (one MAP against another)."""
    return a > b


def about_as_good_as_real(llc_map: float, real_map: float) -> bool:
    """10-bit LLC "about as good" as 10-dim real features: within ``THRESHOLDS['retrieval_llc_vs_real_points']``
    MAP points (both in %)."""
    return llc_map >= real_map - THRESHOLDS["retrieval_llc_vs_real_points"]


# -------------------------------------------------------------------------------------------- over seeds
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


def seed_verdict(seeds: dict | None, a: str, b: str | float, margin: float = 0.0) -> bool | str | None:
    """Verdict of "a - b > margin" from a ``seeds.json`` (``studies.headline.seeds_study``) by ``NOISE_RULE``:
    the paired differences d = a - b - margin over the seeds (``b`` a number's name, or a constant such as a
    goal); True when mean(d) / (sd(d) / sqrt(n)) exceeds the
    one-sided t quantile at ``THRESHOLDS['seed_alpha']``, False when it is below minus that, else "within
    noise" (also with fewer than two seeds). None when the file or either number is missing."""
    from scipy.stats import t as student_t

    n = (seeds or {}).get("numbers", {})
    if a not in n or (isinstance(b, str) and b not in n):
        return None
    d = np.asarray(n[a]["values"], float) - (np.asarray(n[b]["values"], float) if isinstance(b, str) else b) - margin
    if len(d) < 2:
        return "within noise"
    se = d.std(ddof=1) / np.sqrt(len(d))
    crit = student_t.ppf(1 - THRESHOLDS["seed_alpha"], len(d) - 1)
    if se == 0:
        return "within noise" if d.mean() == 0 else bool(d.mean() > 0)
    t = d.mean() / se
    return "within noise" if abs(t) <= crit else bool(t > 0)


def combine(verdicts) -> bool | str | None:
    """All of several verdicts: False if any fails, "within noise" if any is, None if any is missing."""
    verdicts = list(verdicts)
    if any(v is None for v in verdicts):
        return None
    if any(v is False for v in verdicts):
        return False
    return "within noise" if any(isinstance(v, str) for v in verdicts) else True


def codebook_seed_verdicts(seeds: dict | None, k: int) -> dict[str, bool | str | None]:
    """The codebook claims over the seeds of a ``seeds.json`` at ``k`` bits: 'ranking' and 'ranking_ed'
    (``codebook_ranking`` by MHD and by ED), 'beats' (``llc_beats_baselines``), 'near_real' (``near_real``, LLC's
    MHD at k) and 'class_codes_near_real' (its 20-bit class codes), each by ``seed_verdict``."""
    books = (("llc", "llc_same_path"), ("svd", "svd"), ("random", "random"), ("cca", "cca"))
    mhd = {n: f"{key}_mhd@{k}" for n, key in books}
    ed = {n: f"{key}_ed@{k}" for n, key in books}
    order = (("llc", "svd"), ("svd", "random"), ("random", "cca"))
    margin = -THRESHOLDS["near_real_mhd_points"] / 100
    return {
        "ranking": combine(seed_verdict(seeds, mhd[a], mhd[b]) for a, b in order),
        "ranking_ed": combine(seed_verdict(seeds, ed[a], ed[b]) for a, b in order),
        "beats": combine(seed_verdict(seeds, mhd["llc"], mhd[b]) for b in ("svd", "random", "cca")),
        "near_real": seed_verdict(seeds, f"llc_mhd_acc@{k}", "real_top1", margin),
        "class_codes_near_real": seed_verdict(seeds, "llc_class_code_acc@20", "real_top1", margin),
    }


def taxonomy_seed_verdict(seeds: dict | None, k: int) -> bool | str | None:
    """``taxonomy_recovered`` over the seeds of a ``seeds.json``: LLC's ARI ('taxonomy_ari_llc@k') beats SVD's
    and Random's by ``THRESHOLDS['taxonomy_ari_over_baselines']``, each by ``seed_verdict``."""
    m = THRESHOLDS["taxonomy_ari_over_baselines"]
    return combine(seed_verdict(seeds, f"taxonomy_ari_llc@{k}", f"taxonomy_ari_{b}@{k}", m) for b in ("svd", "random"))


def nested_seed_verdict(seeds: dict | None, n: int) -> bool | str | None:
    """``nested_is_free`` over the seeds of a ``seeds.json``: the nested code's n-bit prefix is within
    ``THRESHOLDS['nested_prefix_points']`` of a separate n-bit run, by ``seed_verdict``."""
    return seed_verdict(
        seeds,
        f"llc_nested_prefix_class_code_acc@{n}",
        f"llc_single_class_code_acc@{n}",
        -THRESHOLDS["nested_prefix_points"] / 100,
    )


def goal_reached(value: float, goal: float) -> bool:
    """A goal of the project (``THRESHOLDS['p_exact_goal']``, ``['R_goal']``) is reached: value >= goal."""
    return value >= goal

"""Accuracy of real-valued classifiers and of binary codes.

Codes may be +-1, booleans or real values; class codes and instance outputs are both read as bit +1 where
> 0 and -1 where <= 0 (``decode.to_bits``, the rule of ``codebook.binarize``; see ``decode`` for how this
compares with the official code).

Tie conventions (baseline codebooks can hold duplicate codes, and MHD can tie at low k):
- ``*_acc``: the decoders' deterministic rule (lowest class index wins a tie).
- ``*_acc_expected``: a tie between m classes that includes the true one counts 1/m (the accuracy a
  uniformly random tie break would have on average).
- ``ed_acc_official``: the official code's ED, which counts an instance as correct when its code equals the
  true class's code, even if other classes share that code.
"""

from __future__ import annotations

import numpy as np

from .decode import ed_decode, mhd_decode, pack, to_bits


def top1(logits: np.ndarray, labels) -> float:
    """Fraction of rows whose argmax equals the label."""
    return float((np.asarray(logits).argmax(1) == np.asarray(labels)).mean())


def code_metrics(instance_codes, class_codes, labels) -> dict[str, float]:
    """MHD and ED accuracies (all three conventions), ED no-match rate, MHD tie rate, bits right, #unique codes."""
    labels = np.asarray(labels)
    if np.shape(instance_codes)[1] != np.shape(class_codes)[1]:
        raise ValueError(
            f"instance codes have {np.shape(instance_codes)[1]} bits but class codes {np.shape(class_codes)[1]}"
        )
    inst_bits, cls_bits = to_bits(instance_codes), to_bits(class_codes)
    d_true = (inst_bits != cls_bits[labels]).sum(1)
    mhd, ed = mhd_decode(inst_bits, cls_bits), ed_decode(inst_bits, cls_bits)
    hit_mhd = d_true == mhd["dist"]
    hit_ed = d_true == 0
    return {
        "bits": int(cls_bits.shape[1]),
        "mhd_acc": float((mhd["pred"] == labels).mean()),
        "mhd_acc_expected": float((hit_mhd / mhd["n_ties"]).mean()),
        "mhd_tie_rate": float((mhd["n_ties"] > 1).mean()),
        "ed_acc": float((ed["pred"] == labels).mean()),
        "ed_acc_expected": float((hit_ed / np.maximum(ed["n_match"], 1)).mean()),
        "ed_acc_official": float(hit_ed.mean()),
        "ed_no_match_rate": float((ed["n_match"] == 0).mean()),
        "bits_right": float((inst_bits.shape[1] - d_true).mean()),
        "unique_codes": int(len(np.unique(pack(cls_bits), axis=0))),
    }


def bits_right_split(instance_codes, class_codes, labels, predicted) -> dict[str, float]:
    """Where the wrong bits are: mean bits right (out of k) of the instance codes (N, k) against the true class
    codes over images whose predicted class (N,) is right ('if_class_code_right') and wrong ('if_class_code_wrong'), and
    of the predicted class's own code ('of_predicted_class_code': an instance code that collapsed onto its
    class code, for which ED = MHD = the class accuracy); 'exact_if_class_code_right': the fraction of the
    images whose predicted class is right whose instance code equals their class code on every bit. NaN for
    an empty group."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    cls_bits = to_bits(class_codes)
    right = (to_bits(instance_codes) == cls_bits[labels]).sum(1)
    hit = predicted == labels
    mean = lambda x: float(x.mean()) if len(x) else float("nan")  # noqa: E731
    return {
        "if_class_code_right": mean(right[hit]),
        "if_class_code_wrong": mean(right[~hit]),
        "of_predicted_class_code": float((cls_bits[predicted] == cls_bits[labels]).sum(1).mean()),
        "exact_if_class_code_right": mean(right[hit] == cls_bits.shape[1]),
    }

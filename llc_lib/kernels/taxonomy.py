"""Taxonomy discovery: agglomerative clustering of class codes and comparison with known superclasses."""

from __future__ import annotations

import numpy as np
from scipy.cluster import hierarchy
from scipy.spatial.distance import pdist
from sklearn.metrics import adjusted_rand_score

from .codebooks import binarize
from .decode import hamming, pack


def hamming_matrix(codes) -> np.ndarray:
    """(C, C) int Hamming distances between the rows of a +-1 codebook."""
    p = pack(codes)
    return hamming(p, p)


def linkage(vectors, metric: str = "hamming", method: str = "average") -> np.ndarray:
    """scipy linkage matrix of class vectors. metric 'hamming' binarises them first (distance = fraction of
    differing bits); 'cosine' / 'euclidean' use the real values (for real-valued classifier weights)."""
    x = binarize(vectors) > 0 if metric == "hamming" else np.asarray(vectors, dtype=np.float64)
    return hierarchy.linkage(pdist(x, metric=metric), method=method)


def cut(z: np.ndarray, n_clusters: int) -> np.ndarray:
    """Cluster ids 0..n-1 (C,) from cutting linkage ``z`` into ``n_clusters`` clusters."""
    return hierarchy.fcluster(z, n_clusters, criterion="maxclust") - 1


def leaf_order(z: np.ndarray) -> np.ndarray:
    """Class indices in dendrogram leaf order (for ordering heat-map rows)."""
    return hierarchy.leaves_list(z)


def purity(clusters, truth) -> float:
    """Fraction of classes whose cluster's majority superclass is their own superclass."""
    clusters, truth = np.asarray(clusters), np.asarray(truth)
    hits = sum(np.bincount(truth[clusters == c]).max() for c in np.unique(clusters))
    return float(hits / len(truth))


def compare_with_superclasses(
    vectors, superclass_of_class, n_clusters: int = 20, metric: str = "hamming", method: str = "average"
) -> dict:
    """{'ari', 'purity', 'clusters'} of cutting the class-vector dendrogram into ``n_clusters`` clusters."""
    cl = cut(linkage(vectors, metric, method), n_clusters)
    return {
        "ari": float(adjusted_rand_score(superclass_of_class, cl)),
        "purity": purity(cl, superclass_of_class),
        "clusters": cl,
    }


def tied_merges(z: np.ndarray) -> int:
    """How many merges of linkage ``z`` happen at a height another merge shares: among equal distances the
    order of merging is the clustering routine's tie rule (the order of the classes), not the data."""
    _, counts = np.unique(np.round(z[:, 2], 12), return_counts=True)
    return int(counts[counts > 1].sum())


def tie_sensitivity(
    vectors, superclass_of_class, n_clusters: int = 20, metric: str = "hamming", draws: int = 20, seed: int = 0
) -> dict:
    """{'ari_mean', 'ari_sd', 'ari_min', 'ari_max', 'draws'}: the ARI of ``compare_with_superclasses`` with the
    classes presented in ``draws`` random orders (``np.random.default_rng(seed)``), so that tied merge distances
    are broken differently each time; the spread is how much of an ARI the tie rule decides."""
    v, sup = np.asarray(vectors), np.asarray(superclass_of_class)
    rng = np.random.default_rng(seed)
    aris = []
    for _ in range(draws):
        order = rng.permutation(len(v))
        aris.append(compare_with_superclasses(v[order], sup[order], n_clusters, metric)["ari"])
    a = np.array(aris)
    return {
        "ari_mean": float(a.mean()),
        "ari_sd": float(a.std(ddof=1)),
        "ari_min": float(a.min()),
        "ari_max": float(a.max()),
        "draws": draws,
    }


def superclasses_kept_whole(codes: np.ndarray, superclass: np.ndarray) -> np.ndarray:
    """(k,) int: per bit of ``codes`` (C, k) +-1, how many superclasses (``superclass`` (C,), one per class) have
    all their classes on the same side of that bit."""
    groups = [np.flatnonzero(superclass == g) for g in np.unique(superclass)]
    side = np.asarray(codes) > 0
    return np.array([sum(side[g, j].all() or not side[g, j].any() for g in groups) for j in range(side.shape[1])])


def superclass_of_class(labels, coarse_labels, num_classes: int) -> np.ndarray:
    """(C,) superclass index of every fine class, read off paired (fine, coarse) label arrays."""
    out = np.full(num_classes, -1)
    out[np.asarray(labels)] = np.asarray(coarse_labels)
    return out


def name_clusters(clusters, class_names, superclass_names=None, superclass_of=None, top: int = 8) -> list[dict]:
    """Per cluster (largest first): its classes' names and, if given, their most common superclass."""
    clusters = np.asarray(clusters)
    out = []
    for c in sorted(np.unique(clusters), key=lambda c: -(clusters == c).sum()):
        members = np.flatnonzero(clusters == c)
        row = {"cluster": int(c), "size": len(members), "classes": [class_names[i] for i in members][:top]}
        if superclass_of is not None:
            sc = np.bincount(superclass_of[members]).argmax()
            row["majority_superclass"] = superclass_names[sc] if superclass_names else int(sc)
            row["majority_share"] = float((superclass_of[members] == sc).mean())
        out.append(row)
    return out

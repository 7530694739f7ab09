"""The rule the one-seed measurements under docs/measurements/ use for "does a change cost accuracy?"
(phase2_convergence_cpu_seed0.md): a number costs when it falls by two seed standard deviations or more, the
standard deviations being those of a seed study (figures/seeds.json). Over several seeds the same margin is
applied to the mean of the paired changes (``mean_costs``). Imported by the scripts beside it."""


def costs(change: float, sd: float) -> bool:
    """True when ``change`` (B - A, in the unit of ``sd``) is a fall of two ``sd`` or more."""
    return change <= -2 * sd


def mean_costs(changes: list[float], sd: float) -> bool:
    """True when the mean of paired changes (B - A, one per seed, each pair trained with one seed; in the unit
    of ``sd``) is a fall of two ``sd`` or more: the one-seed rule's margin, applied to the mean. With one seed it
    is ``costs``."""
    return costs(sum(changes) / len(changes), sd)

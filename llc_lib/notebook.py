"""The notebooks' one-line set-up: ``ctx = setup(profile, seed, overrides)``."""
from __future__ import annotations

from .config import apply_sets, get_profile
from .device import pick_device
from .graph import Workspace
from .manifest import notebook_specs
from .studies import Context, check_seed, figures_dir, runs_root


def setup(profile: str = "auto", seed: int = 0, overrides=(), device: str | None = None) -> Context:
    """Validate a notebook's parameters (one clear ValueError for a bad one) and return its ``Context``.

    profile: smoke, cpu, gpu or auto; seed: a non-negative int; overrides: ``--set``-style strings such as
    ``["llc.lr=0.05"]`` (``config.apply_sets``), which train under new checkpoint keys and write to a variant
    folder (``studies.figures_dir``), never to the published figures."""
    check_seed(seed)
    prof = apply_sets(get_profile(profile), overrides)
    if prof.dataset != "cifar100":
        raise ValueError(f"profile {prof.name!r} trains on ImageFolder data through the command line "
                         f"(python -m llc_lib train --profile {prof.name}); notebooks take smoke, cpu or gpu")
    notebook_specs(prof, seed)  # every model the profile trains is a valid spec, before anything trains
    ctx = Context(prof, Workspace(runs_root(prof), pick_device(device), workers=prof.workers), figures_dir(prof))
    ctx.figdir.mkdir(parents=True, exist_ok=True)
    print(f"profile={prof.name} seed={seed} device={ctx.ws.device} figures -> {ctx.figdir}"
          + (f" (a variant: overrides {list(prof.overrides)}; the published figures are not touched)"
             if prof.overrides else ""))
    return ctx

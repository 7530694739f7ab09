"""Command line: ``python -m llc_lib <command> [options]``; ``python -m llc_lib <command> --help`` lists that
command's options.

  python -m llc_lib reproduce --profile cpu           # fit (cached) + evaluate the headline models,
                                                      # writes runs/cpu/headline_results.json (_s<seed> for
                                                      # another seed)
  python -m llc_lib reproduce --profile cpu --seed 1 --study ood   # another study's models and numbers at a seed
                                                      # (ood | equal_budget) -> <study>_results_s1.json
  python -m llc_lib train --profile cpu --what real   # one model and what it starts from: real | llc | instance
  python -m llc_lib eval --profile cpu                # evaluate finished checkpoints; never trains
  python -m llc_lib seeds --profile cpu --seeds 0 1 2 # headline + codebook numbers per seed -> figures/seeds.json
  python -m llc_lib variants --profile cpu            # Phase 1 / 2 recipe variants on test and training images
  python -m llc_lib train --profile cpu --what llc --set llc.lr=0.05 --set width=32   # typed recipe overrides
  python -m llc_lib manifest --profile cpu            # Make rules: what each notebook depends on
  python -m llc_lib fit --profile cpu --key KEY       # fit one spec of the manifest by its key
  python -m llc_lib data [--shared DIR]               # link DIR/*.npz into data/, validate; without DIR, build
                                                      # the files from the official archives (downloaded, or
                                                      # from --archives DIR / $LLC_ARCHIVES)
  python -m llc_lib docs --profile cpu                # docs/results.md + README blocks from figures/, docs/times.json
  python -m llc_lib weights --profile cpu             # install the committed trained weights (weights/cpu)
  python -m llc_lib compare --profile cpu             # figures/*.json on disk vs committed: bit-identical on
                                                      # the same machine, else each difference in seed sds
  python -m llc_lib data --tinyimagenet-val           # sort Tiny ImageNet's val images into class folders

Using the codes (also as ``llc encode | search | classify``; llc_lib/codes_cli.py):

  python -m llc_lib encode photos/ --bits 20 --out codes.npz   # images -> packed binary codes
  python -m llc_lib search codes.npz queries.npz --top-k 10    # nearest codes by Hamming distance
  python -m llc_lib classify photos/ --bits 20                 # class (MHD) and out-of-distribution flag (ED)

Every model is a spec of the run graph (llc_lib/graph/spec.py); its checkpoint is named by a hash of the spec,
so overrides train under new names and never reuse a checkpoint of another recipe or data subset.

Paper scale (ImageFolder data under data/ or --data-dir), on one or several GPUs:

  torchrun --nproc_per_node=8 -m llc_lib train --profile imagenet --what llc
  torchrun --nproc_per_node=8 -m llc_lib train --profile imagenet --what instance --resume
  python -m llc_lib train --profile tinyimagenet --what llc --subset 20 --max-steps 5 --epochs 1   # smoke test

Under torchrun every process trains its shard (DistributedDataParallel; NCCL on CUDA, gloo on CPU), only
rank 0 logs and writes checkpoints, metrics are summed over processes. Checkpoints are written every epoch;
an unfinished run is continued only with --resume. --batch-size is the global batch (learning rates scale
linearly with it). Environment variables: see ``llc_lib.core.env.ENV``; --runs-dir and --data-dir take
precedence over them. <home> is the project folder in a checkout, else $LLC_HOME, the current folder when it is a
checkout, or ~/.cache/llc_lib (``llc_lib.core.paths.home``).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path


def get_args_parser() -> argparse.ArgumentParser:
    """One sub-command per task, each with its own options only."""
    ap = argparse.ArgumentParser(
        prog="python -m llc_lib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="command")

    def folders(p):
        p.add_argument(
            "--runs-dir", type=Path, help="checkpoint/results folder (default: $LLC_RUNS_DIR or <home>/runs)"
        )
        p.add_argument("--data-dir", type=Path, help="data folder (default: $LLC_DATA_DIR or <home>/data)")

    def profile(p, seed=True):
        p.add_argument("--profile", default="auto", help="smoke | cpu | gpu | imagenet | tinyimagenet | auto (default)")
        if seed:
            p.add_argument("--seed", type=int, default=0)
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="typed override (repeatable): <run>.<field>, a profile field or a whole-profile key, e.g. "
            "llc.lr=0.05, instance.epochs=*2 (twice the profile's), width=32, epochs=2; the flags below are the same",
        )
        p.add_argument("--epochs", type=int, help="= --set epochs=N: Phase 1 and real epochs (others keep their ratio)")
        p.add_argument("--batch-size", type=int, help="= --set batch_size=N: the global batch (lr scaled linearly)")
        p.add_argument("--max-steps", type=int, help="= --set max_steps=N: at most N optimiser steps per epoch")
        p.add_argument("--subset", type=int, help="= --set subset=N: N images per class of train and test")
        p.add_argument("--image-size", type=int, help="= --set image_size=N: training crop of ImageFolder data")
        p.add_argument("--workers", type=int, help="= --set workers=N: DataLoader workers for ImageFolder data")

    def device(p):
        p.add_argument("--device", default=None, help="e.g. cpu or cuda:0 (default: CUDA if available)")

    def command(name, help):
        return sub.add_parser(name, help=help, description=help)

    def study(p):
        from .results.claims.seed_files import STUDIES

        p.add_argument(
            "--study",
            choices=STUDIES,
            default="headline",
            help="which study's models: headline (default) -> headline_results[_s<seed>].json; ood (notebook 07's "
            "models and study) -> ood_results[_s<seed>].json; equal_budget (the real-valued model and the same "
            "trained as long as the instance codes) -> equal_budget_results[_s<seed>].json",
        )

    p = command("reproduce", "fit (cached) and evaluate the models of one study (--study; the headline by default)")
    profile(p), device(p), folders(p), study(p)
    p = command("eval", "evaluate the finished checkpoints of one study's models (--study); never trains")
    profile(p), device(p), folders(p), study(p)
    p = command("train", "train one model and what it starts from")
    profile(p), device(p), folders(p)
    p.add_argument("--what", choices=["real", "llc", "instance"], default="real", help="model to train")
    p.add_argument("--resume", action="store_true", help="continue an unfinished checkpoint of this run")
    p = command("fit", "fit one spec of the manifest by its key (what `make reproduce` calls)")
    profile(p), device(p), folders(p)
    p.add_argument("--key", required=True, help="the spec key (from `manifest`)")
    p = command("seeds", "headline and codebook numbers per seed -> seeds.json")
    profile(p, seed=False), device(p), folders(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="the seeds to train and compare")
    p.add_argument(
        "--files",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="instead of training: take numbers of seeds.json from these per-seed results files, at most one per "
        "study and seed: headline results (figures/headline_results.json for seed 0), OOD results "
        "(figures/07_ood.json) and equal-budget results (figures/02_accuracy_vs_bits.json), committed measurements "
        "for the other seeds (reproduce --study); a file of another recipe is refused; the other numbers stay as "
        "the seed study measured them (give every file each time: one left out leaves nothing behind)",
    )
    p = command("variants", "Phase 1 / Phase 2 recipe variants scored on test and training images -> JSON")
    profile(p), device(p), folders(p)
    p.add_argument("--variants", nargs="+", metavar="NAME", help="default: all (see llc_lib/studies/instance.py)")
    p.add_argument(
        "--out",
        type=Path,
        help="JSON file (default: instance_variants.json in the profile's results folder, a variant folder with --set)",
    )
    p = command(
        "diagnose",
        "why the instance codes fall short: refitted heads, weak codebook entries, code "
        "geometry of the headline models (no training) -> JSON",
    )
    profile(p), device(p), folders(p)
    p.add_argument(
        "--out", type=Path, help="JSON file (default: phase2_diagnostics.json in the profile's results folder)"
    )
    p = command(
        "weights",
        "the profile's trained weights: install the committed weights/<profile> into the runs "
        "folder, or export them from it",
    )
    p.add_argument("--profile", default="cpu", help="whose weights (default cpu)")
    p.add_argument("--runs-dir", type=Path, help="checkpoint/results folder (default: $LLC_RUNS_DIR or <home>/runs)")
    p.add_argument("--export", action="store_true", help="write weights/<profile> from the runs folder (maintainers)")
    p = command("manifest", "Make rules: what each notebook depends on")
    profile(p, seed=False), folders(p)
    p.add_argument("--run-dir", default="runs/PROFILE/notebooks", help="executed-notebook folder")
    p.add_argument("--python", default="python", help="interpreter in the generated rules")
    p = command(
        "data",
        "link the shipped *.npz into the data folder (else build them from the official archives) and validate them",
    )
    p.add_argument("--data-dir", type=Path, help="data folder (default: $LLC_DATA_DIR or <home>/data)")
    p.add_argument("--shared", default=None, help="folder with the shipped *.npz files")
    p.add_argument(
        "--archives",
        type=Path,
        default=None,
        help="folder with the official archives under their own names, used instead of downloading "
        "(default: $LLC_ARCHIVES)",
    )
    p.add_argument("--tinyimagenet-val", action="store_true", help="make Tiny ImageNet's val class folders")
    p = command("docs", "docs/results.md and the README's generated blocks from the cpu figures and docs/times.json")
    p.add_argument("--profile", default="cpu", help="the profile whose figures are documented (default cpu)")
    p = command("compare", "figures/*.json on disk vs committed: bit-identical on the same machine, else in seed sds")
    p.add_argument("--profile", default="auto", help="whose figures (default auto)")
    p.add_argument("--reference", type=Path, help="folder of reference JSON (default: the committed figures)")
    from .codes_cli import add_commands

    add_commands(command)
    return ap


def load_profile(args):
    """The profile with the command line's overrides (each recorded), every spec it trains built and checked;
    ValueError for a seed (--seed, --seeds) outside 0..MAX_SEED, before anything is built."""
    from .config.overrides import apply_sets
    from .config.profiles import get_profile
    from .config.recipe import MAX_SEED
    from .graph import plan
    from .manifest import notebook_specs

    for flag, seeds in (("--seed", [getattr(args, "seed", 0)]), ("--seeds", getattr(args, "seeds", None) or [])):
        bad = [s for s in seeds if not 0 <= s <= MAX_SEED]
        if bad:
            raise ValueError(f"{flag} {' '.join(map(str, bad))}: seeds are integers in 0..{MAX_SEED}")
    flags = ("epochs", "batch_size", "max_steps", "subset", "image_size", "workers")  # each stands for key=value
    sets = [f"{k}={getattr(args, k)}" for k in flags if getattr(args, k, None) is not None]
    prof = apply_sets(get_profile(args.profile), sets + list(args.set or ()))
    if prof.dataset == "cifar100":
        notebook_specs(prof, getattr(args, "seed", 0))
    else:
        plan.headline(prof, getattr(args, "seed", 0))
    return prof


def cmd_data(args) -> int:
    from .engine.data import DataError, data_dir, load_cifar100_arrays, tinyimagenet_val_folders
    from .graph.sources import prepare_data, verify_files

    root = args.data_dir or data_dir()
    if args.tinyimagenet_val:
        print(f"Tiny ImageNet val class folders: {tinyimagenet_val_folders(root)}")
        return 0
    prepare_data(args.shared, root, args.archives)
    load_cifar100_arrays(root)
    status = verify_files(root)
    for name, (_, note) in status.items():
        print(f"{name}: {note}")
    bad = [name for name, (ok, _) in status.items() if not ok]
    if bad:
        raise DataError(
            f"{', '.join(bad)} in {root} differ from the shipped files (sha256 and arrays); move them "
            f"away and run `make data` again"
        )
    return 0


def cmd_docs(args) -> int:
    from .config.folders import figures_dir
    from .config.profiles import get_profile
    from .core.paths import REPO_ROOT
    from .results.ledger import write_index
    from .results.pages import update_docs

    for path in update_docs(REPO_ROOT, figures_dir(get_profile(args.profile))):
        print(f"wrote {path}")
    print(f"wrote {write_index(REPO_ROOT)}")  # docs/measurements/README.md, the index of the ledger
    return 0


def cmd_compare(args) -> int:
    from .config.folders import figures_dir
    from .config.profiles import get_profile
    from .core.paths import REPO_ROOT
    from .results.compare import Committed, Folder, compare, format_report

    fresh = figures_dir(get_profile(args.profile))
    if args.reference:
        reference = Folder(args.reference)
    elif fresh.resolve().is_relative_to(REPO_ROOT.resolve()):
        reference = Committed(REPO_ROOT, fresh)
    else:
        raise ValueError(f"{fresh} is not in the repository, so it has no committed version; give --reference FOLDER")
    res = compare(fresh, reference)
    print(format_report(res))
    return 0 if res["ok"] else 1


def cmd_manifest(args) -> int:
    from .config.folders import runs_root
    from .graph.workspace import Workspace
    from .manifest import make_rules

    prof = load_profile(args)
    import torch

    ws = Workspace(runs_root(prof, args.runs_dir), torch.device("cpu"), train=False, data_root=args.data_dir)
    print(make_rules(prof, ws, args.run_dir.replace("PROFILE", prof.name), args.python), end="")
    return 0


@contextmanager
def model_context(args, train: bool | None = None):
    """The ``studies.Context`` of a command that fits or evaluates models: the profile with the command
    line's overrides, a workspace on the chosen device (one process of several under torchrun; the process
    group is closed on the way out) and the profile's figure folder. ``train``: whether the workspace may train
    (default: every command but eval)."""
    from .config.folders import figures_dir, runs_root
    from .engine.device import init_distributed
    from .graph.workspace import Workspace
    from .studies import Context

    prof = load_profile(args)
    dev, started = init_distributed(args.device)
    try:
        train = args.command != "eval" if train is None else train
        ws = Workspace(runs_root(prof, args.runs_dir), dev, train=train, workers=prof.workers, data_root=args.data_dir)
        yield Context(prof, ws, figures_dir(prof, ws.root))
    finally:
        if started:
            import torch.distributed

            torch.distributed.destroy_process_group()


def cmd_reproduce(args) -> int:
    """reproduce and eval: the models of one study (--study) at one seed, fitted (eval: loaded) and evaluated."""
    from .engine.device import dist_info
    from .results.report import headline_markdown
    from .studies.headline import reproduce, results_path

    if args.study != "headline":
        return _seed_study_file(args)
    with model_context(args) as ctx:
        res = reproduce(ctx, seed=args.seed)
        if dist_info()[0] == 0:
            t, call = res["seconds"], res["_call_seconds"]
            print(headline_markdown(res))
            print(
                f"\ntraining time recorded in the checkpoints (s): real {t['real']:.0f}, LLC Phase 1 "
                f"{t['llc_phase1']:.0f}, Phase 2 {t['llc_phase2']:.0f}; this call {call['this_call']:.0f}"
            )
            print(f"wrote {results_path(ctx, args.seed)}")
    return 0


def _seed_study_file(args) -> int:
    """reproduce / eval --study ood|equal_budget: that study at one seed, written as a per-seed results file
    (<study>_results.json, _s<seed> for seed > 0) into the profile's results folder."""
    from .engine.device import dist_info
    from .studies import public, run_record, write_results
    from .studies.accuracy import equal_budget_study
    from .studies.headline import results_path
    from .studies.ood import ood_study

    with model_context(args) as ctx:
        res = {"ood": ood_study, "equal_budget": equal_budget_study}[args.study](ctx, args.seed)
        res["run"] = run_record(ctx.profile, ctx.ws)
        if dist_info()[0] == 0:
            path = write_results(public(res), results_path(ctx, args.seed, args.study), ctx.ws.device)
            print(
                res.get("summary")
                or f"real-valued top-1 {res['real_top1']:.4f}, of equal budget {res['real_top1_equal_budget']:.4f}"
            )
            print(f"wrote {path}")
    return 0


def cmd_seeds(args) -> int:
    from .engine.device import dist_info
    from .studies import write_results
    from .studies.headline import seeds_from_files, seeds_study

    if args.files:
        with model_context(args, train=False) as ctx:
            res = seeds_from_files(ctx, args.files)
            path = write_results(res, ctx.figdir / "seeds.json", ctx.ws.device)
            for name, s in res["numbers"].items():
                if "seeds" in s:
                    print(f"{name:52s} {s['mean']:.4f} ± {s['std']:.4f}  seeds {s['seeds']} {s['values']}")
            print(f"wrote {path}")
        return 0

    with model_context(args) as ctx:
        res = seeds_study(ctx, args.seeds)
        if dist_info()[0] == 0:
            path = write_results(res, ctx.figdir / "seeds.json", ctx.ws.device)
            for name, s in res["numbers"].items():
                print(f"{name:28s} {s['mean']:.4f} ± {s['std']:.4f}  {s['values']}")
            print(f"wrote {path}")
    return 0


def cmd_train(args) -> int:
    """train (a headline model by --what) and fit (any spec of the manifest by --key), with what it starts from."""
    from .engine.device import dist_info
    from .graph import plan
    from .manifest import notebook_specs

    with model_context(args) as ctx:
        prof, ws = ctx.profile, ctx.ws
        if args.command == "fit":
            known = {
                s.key: s
                for specs in notebook_specs(prof, args.seed).values()
                for top in specs
                for s in top.ancestors() + [top]
            }
            if args.key not in known:
                raise ValueError(
                    f"no spec with key {args.key!r} in profile {prof.name!r} (seed {args.seed}); "
                    f"`python -m llc_lib manifest --profile {prof.name}` lists them"
                )
            spec = known[args.key]
        else:
            spec = dict(zip(("real", "llc", "instance"), plan.headline(prof, args.seed)))[args.what]
        ws.fit(spec, resume=getattr(args, "resume", False) or args.command == "fit")
        rank, world = dist_info()
        if rank == 0:
            print(f"fitted {spec.label} ({prof.name}, {world} process(es) on {ws.device}): {ws.ckpt_path(spec)}")
    return 0


def cmd_variants(args) -> int:
    import json
    import time

    from .config.folders import output_root
    from .studies import run_record, write_results
    from .studies.instance import VARIANTS, check_results, run_variant

    names = args.variants or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    with model_context(args) as ctx:
        out = args.out or output_root(ctx.profile, ctx.ws.root) / "instance_variants.json"
        rows = json.loads(out.read_text()) if out.exists() else {}
        check_results(rows, ctx.profile, args.seed, out)
        for name in names:
            t = time.time()
            rows[name] = run_variant(ctx, name, args.seed)
            rows[name]["wall_seconds"] = round(time.time() - t, 1)
            rows["run"] = run_record(ctx.profile, ctx.ws)
            write_results(rows, out, ctx.ws.device)
            r, goal = rows[name]["validation" if ctx.profile.holdout else "test"]["20"], rows[name]["goal"]
            print(
                f"{name:18s} 20 bits: class-code {r['class_code_acc']:.3f} MHD {r['mhd_acc']:.3f} ED {r['ed_acc']:.3f} "
                f"bits right {r['bits_right']:.2f} (class right {r['bits_right_if_class_code_right']:.2f}, wrong "
                f"{r['bits_right_if_class_code_wrong']:.2f}; {goal['bits_right']} needs class-code acc "
                f"{goal['class_code_acc_needed']:.2f}) | train bits right {rows[name]['train']['20']['bits_right']:.2f}"
                f" ({rows[name]['wall_seconds']:.0f} s)",
                flush=True,
            )
    return 0


def cmd_diagnose(args) -> int:
    from .config.folders import output_root
    from .studies import public, run_record, write_results
    from .studies.convergence import phase2_diagnostics

    with model_context(args, train=False) as ctx:  # evaluates trained checkpoints; never trains
        res = phase2_diagnostics(ctx, args.seed)
        out = args.out or output_root(ctx.profile, ctx.ws.root) / "phase2_diagnostics.json"
        write_results({**public(res), "run": run_record(ctx.profile, ctx.ws)}, out, ctx.ws.device)
        for split in ("train", "test"):
            for head in ("trained_head", "refitted_head"):
                for k, r in res[head][split].items():
                    print(
                        f"{split:5s} {head:13s} k={k}: ED {r['ed_acc']:.3f} MHD {r['mhd_acc']:.3f} bits right "
                        f"{r['bits_right']:.2f} R {r['R']:.2f} W {r['W']:.2f} P(exact|right) "
                        f"{r['p_exact_given_right']:.3f}"
                    )
        print(f"wrote {out}")
    return 0


def cmd_weights(args) -> int:
    from .config.folders import runs_root
    from .config.profiles import get_profile
    from .core.paths import committed_weights
    from .graph.weights import export, install
    from .graph.workspace import Workspace
    from .manifest import notebook_specs

    prof = get_profile(args.profile)
    folder, runs = committed_weights(prof.name), runs_root(prof, args.runs_dir)
    if args.export:
        import torch

        ws = Workspace(runs, torch.device("cpu"), train=False)
        specs = [s for specs in notebook_specs(prof, 0).values() for s in specs]
        from .graph import plan

        classes = ws.store.get(plan.train_data(prof, 0), "train").class_names
        m = export(specs, ws, folder, plan.roles(prof, 0), classes)
        print(f"wrote {folder}: {len(m['files'])} files, {m['bytes'] / 1e6:.1f} MB")
        return 0
    copied = install(folder, runs)
    print(f"installed {len(copied)} files from {folder} into {runs} (the others were there already)")
    return 0


COMMANDS = {
    "data": cmd_data,
    "docs": cmd_docs,
    "compare": cmd_compare,
    "manifest": cmd_manifest,
    "reproduce": cmd_reproduce,
    "eval": cmd_reproduce,
    "seeds": cmd_seeds,
    "train": cmd_train,
    "fit": cmd_train,
    "variants": cmd_variants,
    "weights": cmd_weights,
    "diagnose": cmd_diagnose,
}


def main(argv=None) -> int:
    """Run one command; a user error (bad data, checkpoint, setting, a missing input file or a diverged run)
    and a file that cannot be written (a full disk: ``files.WriteError`` names the file) end with one line on
    stderr and exit code 2."""
    import errno

    from .codes_cli import COMMANDS as CODES
    from .core.errors import UserError
    from .core.files import WriteError

    args = get_args_parser().parse_args(argv)
    try:
        return {**COMMANDS, **CODES}[args.command](args)
    except (UserError, ValueError, FileNotFoundError, WriteError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk met by a writer that names no file: still one line
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(
            f"error: {e}; free space on the disk of the runs or data folder and run the same command again",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: every finished epoch is saved; run the same command with --resume to continue",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``python -m llc_lib {reproduce,train,eval,fit,manifest,data} ...``.

  python -m llc_lib reproduce --profile cpu           # fit (cached) + evaluate the headline models,
                                                      # writes runs/cpu/results.json (results_s<seed>.json)
  python -m llc_lib train --profile cpu --what real   # one model and what it starts from: real | llc | instance
  python -m llc_lib eval --profile cpu                # evaluate finished checkpoints; never trains
  python -m llc_lib seeds --profile cpu --seeds 0 1 2 # headline + codebook numbers per seed -> figures/seeds.json
  python -m llc_lib train --profile cpu --what llc --set llc.lr=0.05 --set width=32   # typed recipe overrides
  python -m llc_lib manifest --profile cpu            # Make rules: what each notebook depends on
  python -m llc_lib fit --profile cpu --key KEY       # fit one spec of the manifest by its key
  python -m llc_lib data [--shared DIR]               # link DIR/*.npz into data/ (else download), validate
  python -m llc_lib docs --profile cpu                # docs/results.md + README headline from figures/
  python -m llc_lib compare --profile cpu             # figures/*.json now vs committed: bit-identical on the
                                                      # same machine, else each difference in seed sds
  python -m llc_lib data --tinyimagenet-val           # sort Tiny ImageNet's val images into class folders

Every model is a spec of the run graph (llc_lib/graph.py); its checkpoint is named by a hash of the spec,
so overrides train under new names and never reuse a checkpoint of another recipe or data subset.

Paper scale (ImageFolder data under data/ or --data-dir), on one or several GPUs:

  torchrun --nproc_per_node=8 -m llc_lib train --profile imagenet --what llc
  torchrun --nproc_per_node=8 -m llc_lib train --profile imagenet --what instance --resume
  python -m llc_lib train --profile tinyimagenet --what llc --subset 20 --max-steps 5 --epochs 1   # smoke test

Under torchrun every process trains its shard (DistributedDataParallel; NCCL on CUDA, gloo on CPU), only
rank 0 logs and writes checkpoints, metrics are summed over processes. Checkpoints are written every epoch;
an unfinished run is continued only with --resume. --batch-size is the global batch (learning rates scale
linearly with it). Environment variables: see ``llc_lib.env.ENV``.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m llc_lib", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["reproduce", "train", "eval", "fit", "manifest", "data", "docs", "seeds",
                                        "compare"])
    ap.add_argument("--profile", default="auto", help="smoke | cpu | gpu | imagenet | tinyimagenet | auto (default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="`seeds`: the seeds to train and compare")
    ap.add_argument("--device", default=None, help="e.g. cpu or cuda:0 (default: CUDA if available)")
    ap.add_argument("--shared", default=None, help="folder with the shipped *.npz files (for `data`)")
    ap.add_argument("--tinyimagenet-val", action="store_true", help="`data`: make Tiny ImageNet's val class folders")
    ap.add_argument("--what", choices=["real", "llc", "instance"], default="real", help="model to train")
    ap.add_argument("--resume", action="store_true", help="continue an unfinished checkpoint of this run")
    ap.add_argument("--epochs", type=int, help="override the profile's epochs (Phase 2 keeps its ratio)")
    ap.add_argument("--batch-size", type=int, help="override the global batch size (lr scaled linearly)")
    ap.add_argument("--max-steps", type=int, help="at most this many optimiser steps per epoch (smoke tests)")
    ap.add_argument("--subset", type=int, help="images per class of train and test (smoke tests)")
    ap.add_argument("--image-size", type=int, help="training crop of ImageFolder data")
    ap.add_argument("--workers", type=int, help="DataLoader workers for ImageFolder data")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="typed override of a recipe field, e.g. llc.lr=0.05, instance.epochs=10, width=32")
    ap.add_argument("--key", help="`fit`: the spec key (from `manifest`) to fit")
    ap.add_argument("--reference", help="`compare`: folder of reference JSON (default: the committed figures)")
    ap.add_argument("--run-dir", default="runs/PROFILE/notebooks", help="`manifest`: executed-notebook folder")
    ap.add_argument("--python", default="python", help="`manifest`: interpreter in the generated rules")
    ap.add_argument("--data-dir", help="data folder (default: data/ or $LLC_DATA_DIR)")
    ap.add_argument("--runs-dir", help="checkpoint/results folder (default: runs/ or $LLC_RUNS_DIR)")
    args = ap.parse_args(argv)
    if args.data_dir:
        os.environ["LLC_DATA_DIR"] = args.data_dir
    if args.runs_dir:
        os.environ["LLC_RUNS_DIR"] = args.runs_dir

    from . import plan
    from .ckpt import CheckpointError
    from .config import apply_sets, get_profile, override
    from .data import (DataError, data_dir, load_cifar100_arrays, prepare_data, tinyimagenet_val_folders,
                       verify_checksums)
    from .device import dist_info, init_distributed
    from .graph import Workspace
    from .studies import Context, figures_dir, runs_root
    from .train import TrainingDiverged

    started = False
    try:
        if args.command == "data":
            if args.tinyimagenet_val:
                print(f"Tiny ImageNet val class folders: {tinyimagenet_val_folders()}")
                return 0
            prepare_data(args.shared)
            load_cifar100_arrays()
            sums = verify_checksums()
            for name, ok in sums.items():
                print(f"{name}: {'sha256 OK' if ok else 'sha256 MISMATCH'}")
            bad = [name for name, ok in sums.items() if not ok]
            if bad:
                raise DataError(f"{', '.join(bad)} in {data_dir()} differ from the shipped files (sha256); move "
                                f"them away and run `make data` again")
            return 0
        profile = override(get_profile(args.profile), epochs=args.epochs, batch_size=args.batch_size,
                           max_steps=args.max_steps, subset=args.subset, image_size=args.image_size,
                           workers=args.workers)
        profile = apply_sets(profile, args.set)
        if profile.dataset == "cifar100":  # every model the profile trains is a valid spec, before anything trains
            from .manifest import notebook_specs

            notebook_specs(profile, args.seed)
        else:
            plan.headline(profile, args.seed)
        if args.command == "docs":
            from .data import REPO_ROOT
            from .report import update_docs

            if profile.overrides:
                raise ValueError(f"docs are generated from the profile as defined only, not from overrides "
                                 f"{list(profile.overrides)}")
            for path in update_docs(REPO_ROOT, figures_dir(profile)):
                print(f"wrote {path}")
            return 0
        if args.command == "compare":
            from .compare import committed, compare, format_report
            from .data import REPO_ROOT

            fresh = figures_dir(profile)
            if args.reference:
                reference = args.reference
            elif fresh.resolve().is_relative_to(REPO_ROOT):
                reference = lambda name: committed(REPO_ROOT, fresh, name)  # noqa: E731
            else:
                raise ValueError(f"{fresh} is not in the repository, so it has no committed version; give "
                                 f"--reference FOLDER")
            res = compare(fresh, reference)
            print(format_report(res))
            return 0 if res["ok"] else 1
        if args.command == "manifest":
            from .manifest import make_rules

            ws = Workspace(runs_root(profile), torch.device("cpu"), train=False)
            print(make_rules(profile, ws, args.run_dir.replace("PROFILE", profile.name), args.python), end="")
            return 0
        dev, started = init_distributed(args.device)
        rank = dist_info()[0]
        ws = Workspace(runs_root(profile), dev, train=args.command != "eval", workers=profile.workers)
        if args.command in ("reproduce", "eval"):
            from .studies.headline import format_table, reproduce, results_path

            ctx = Context(profile, ws, figures_dir(profile))
            res = reproduce(ctx, seed=args.seed)
            if rank == 0:
                print(format_table(res))
                print(f"\nwrote {results_path(ctx, args.seed)}")
            return 0
        if args.command == "seeds":
            from .files import write_json
            from .studies.headline import seeds_study

            ctx = Context(profile, ws, figures_dir(profile))
            res = seeds_study(ctx, args.seeds)
            if rank == 0:
                path = ctx.figdir / "seeds.json"
                write_json(res, path)
                for name, s in res["numbers"].items():
                    print(f"{name:28s} {s['mean']:.4f} ± {s['std']:.4f}  {s['values']}")
                print(f"wrote {path}")
            return 0
        if args.command == "fit":
            from .manifest import notebook_specs

            known = {s.key: s for specs in notebook_specs(profile, args.seed).values()
                     for top in specs for s in top.ancestors() + [top]}
            if args.key not in known:
                raise ValueError(f"no spec with key {args.key!r} in profile {profile.name!r} (seed {args.seed}); "
                                 f"`python -m llc_lib manifest --profile {profile.name}` lists them")
            spec = known[args.key]
        else:
            real_s, llc_s, inst_s = plan.headline(profile, args.seed)
            spec = {"real": real_s, "llc": llc_s, "instance": inst_s}[args.what]
        ws.fit(spec, resume=args.resume or args.command == "fit")
        if rank == 0:
            print(f"fitted {spec.label} ({profile.name}, {dist_info()[1]} process(es) on {dev}): {ws.ckpt_path(spec)}")
        return 0
    except (DataError, CheckpointError, ValueError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: every finished epoch is saved; run the same command with --resume to continue",
              file=sys.stderr)
        return 130
    finally:
        if started:
            torch.distributed.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())

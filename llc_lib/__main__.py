"""Command line: ``python -m llc_lib {reproduce,train,eval,data} ...``.

  python -m llc_lib reproduce --profile cpu           # train (cached) + evaluate, writes runs/cpu/results.json
                                                      # (results_s<seed>.json for --seed > 0)
  python -m llc_lib train --profile cpu --what real   # one model: real | llc | instance
  python -m llc_lib eval --profile cpu                # evaluate cached models, print the table
  python -m llc_lib data [--shared DIR]               # link DIR/*.npz into data/ (else download), validate
  python -m llc_lib data --tinyimagenet-val           # sort Tiny ImageNet's val images into class folders

Paper scale (ImageFolder data under data/ or --data-dir), on one or several GPUs:

  torchrun --nproc_per_node=8 -m llc_lib train --profile imagenet --what llc
  torchrun --nproc_per_node=8 -m llc_lib train --profile imagenet --what instance --resume
  python -m llc_lib train --profile tinyimagenet --what llc --subset 20 --max-steps 5 --epochs 1   # smoke test

Under torchrun every process trains its shard (DistributedDataParallel; NCCL on CUDA, gloo on CPU), only
rank 0 logs and writes checkpoints, metrics are summed over processes. Checkpoints are written every epoch;
an unfinished run is continued only with --resume. --batch-size is the global batch (learning rates scale
linearly with it).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch


def _init_distributed(device: str | None) -> tuple[torch.device, bool]:
    """(device, started): joins the torchrun process group when WORLD_SIZE > 1; CUDA device = LOCAL_RANK."""
    import torch.distributed as dist

    from .config import pick_device

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return pick_device(device), False
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return (torch.device("cuda", local) if use_cuda else torch.device("cpu")), True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m llc_lib", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["reproduce", "train", "eval", "data"])
    ap.add_argument("--profile", default="auto", help="smoke | cpu | gpu | imagenet | tinyimagenet | auto (default)")
    ap.add_argument("--seed", type=int, default=0)
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
    ap.add_argument("--data-dir", help="data folder (default: data/ or $LLC_DATA_DIR)")
    ap.add_argument("--runs-dir", help="checkpoint/results folder (default: runs/ or $LLC_RUNS_DIR)")
    args = ap.parse_args(argv)
    if args.data_dir:
        os.environ["LLC_DATA_DIR"] = args.data_dir
    if args.runs_dir:
        os.environ["LLC_RUNS_DIR"] = args.runs_dir

    from . import pipeline as P
    from .config import get_profile, override
    from .data import DataError, load_cifar100_arrays, prepare_data, tinyimagenet_val_folders, verify_checksums
    from .train import CheckpointError, dist_info

    started = False
    try:
        if args.command == "data":
            if args.tinyimagenet_val:
                print(f"Tiny ImageNet val class folders: {tinyimagenet_val_folders()}")
                return 0
            prepare_data(args.shared)
            load_cifar100_arrays()
            for name, ok in verify_checksums().items():
                print(f"{name}: {'sha256 OK' if ok else 'sha256 MISMATCH (not the shipped file)'}")
            return 0
        profile = override(get_profile(args.profile), epochs=args.epochs, batch_size=args.batch_size,
                           max_steps=args.max_steps, subset=args.subset, image_size=args.image_size,
                           workers=args.workers)
        dev, started = _init_distributed(args.device)
        rank = dist_info()[0]
        if args.command in ("reproduce", "eval"):
            t0 = time.time()
            res = P.reproduce(profile, seed=args.seed, device=str(dev))
            if rank == 0:
                print(P.format_table(res))
                print(f"\nwrote {P.results_path(profile, args.seed)}; wall time {time.time() - t0:.0f} s")
            return 0
        tr, _ = P.load_data(profile, args.seed)
        if args.what == "real":
            P.get_real(profile, tr, dev, args.seed, resume=args.resume)
        elif args.what == "llc":
            P.get_llc(profile, tr, dev, args.seed, resume=args.resume)
        else:
            P.get_instance(profile, tr, dev, args.seed, resume=args.resume)
        if rank == 0:
            print(f"trained {args.what} ({profile.name}, {dist_info()[1]} process(es) on {dev}); "
                  f"checkpoints in {P.run_dir(profile) / 'ckpt'}")
        return 0
    except (DataError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if started:
            torch.distributed.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())

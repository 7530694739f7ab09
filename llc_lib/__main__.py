"""Command line: ``python -m llc_lib {reproduce,train,eval,check-data} ...``.

  python -m llc_lib reproduce --profile cpu           # train (cached) + evaluate, writes runs/cpu/results.json
  python -m llc_lib train --profile cpu --what real   # one model: real | llc | instance
  python -m llc_lib eval --profile cpu                # evaluate cached models, print the table
  python -m llc_lib data [--shared DIR]               # link DIR/*.npz into data/ (else download), validate
"""
from __future__ import annotations

import argparse
import sys
import time

from . import pipeline as P
from .config import get_profile, pick_device
from .data import DataError, load_cifar100_arrays, prepare_data, verify_checksums
from .train import CheckpointError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m llc_lib", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["reproduce", "train", "eval", "data"])
    ap.add_argument("--profile", default="auto", help="smoke | cpu | gpu | auto (default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None, help="e.g. cpu or cuda:0 (default: CUDA if available)")
    ap.add_argument("--shared", default=None, help="folder with the shipped *.npz files (for `data`)")
    ap.add_argument("--what", choices=["real", "llc", "instance"], default="real", help="model to train")
    args = ap.parse_args(argv)
    try:
        if args.command == "data":
            prepare_data(args.shared)
            load_cifar100_arrays()
            for name, ok in verify_checksums().items():
                print(f"{name}: {'sha256 OK' if ok else 'sha256 MISMATCH (not the shipped file)'}")
            return 0
        if args.command in ("reproduce", "eval"):
            t0 = time.time()
            res = P.reproduce(args.profile, seed=args.seed, device=args.device)
            print(P.format_table(res))
            print(f"\nwrote {P.run_dir(get_profile(args.profile)) / 'results.json'}; "
                  f"wall time {time.time() - t0:.0f} s")
            return 0
        profile, dev = get_profile(args.profile), pick_device(args.device)
        tr, _ = P.load_data(profile, args.seed)
        fn = {"real": P.get_real, "llc": P.get_llc, "instance": P.get_instance}[args.what]
        fn(profile, tr, dev, args.seed)
        print(f"trained {args.what} ({profile.name}); checkpoints in {P.run_dir(profile) / 'ckpt'}")
        return 0
    except (DataError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

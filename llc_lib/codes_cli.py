"""The commands for using the codes without writing Python (``llc encode | search | classify``, the same as
``python -m llc_lib ...``), over the public API (``llc_lib.api``):

  llc encode photos/ --bits 20 --out codes.npz            # a folder of images (or an .npy / .npz array)
  llc search codes.npz queries.npz --top-k 10 --out hits.json
  llc classify photos/ --bits 20 --out classes.json       # MHD class and ED out-of-distribution flag per image
  llc train-codes my_images/ --bits 16 --out my_codes/    # train codes on your own labelled images

Each prints a short table and writes a machine-readable file: a codes file (.npz: 'codes' packed uint8,
'bits', 'names', 'model') or JSON rows.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

SHOWN = 10  # rows each command prints


def add_commands(command) -> None:
    """Add the encode, search and classify sub-commands through ``command(name, help)`` (the CLI's)."""

    def model_args(p):
        p.add_argument("--model", default="cpu", help="a profile's committed weights (default cpu) or a .pt file")
        p.add_argument("--role", default="headline", help="which committed model (see weights/<profile>/MANIFEST.json)")
        p.add_argument("--bits", type=int, help="code length (default: all the model's bits)")
        p.add_argument("--device", default=None, help="e.g. cpu or cuda:0 (default: CUDA if available)")

    def images_args(p):
        p.add_argument("input", type=Path, help="a folder of images, an .npy array (N, H, W, 3) uint8, or an .npz")
        p.add_argument("--convert", action="store_true", help="convert grayscale / RGBA / palette images to RGB")

    p = command("encode", "images -> a codes file (packed binary codes, faiss's layout)")
    images_args(p), model_args(p)
    p.add_argument("--out", type=Path, required=True, help="codes file to write (.npz)")
    p = command("search", "the nearest codes of a database codes file for each query code (Hamming distance)")
    p.add_argument("database", type=Path, help="codes file (from encode)")
    p.add_argument("queries", type=Path, help="codes file (from encode)")
    p.add_argument("--top-k", type=int, default=10, help="neighbours per query (default 10)")
    p.add_argument("--out", type=Path, help="JSON file of the hits (default: print only)")
    p = command("classify", "images or a codes file -> class (MHD) and out-of-distribution flag (ED)")
    images_args(p), model_args(p)
    p.add_argument("--out", type=Path, help="JSON file of the rows (default: print only)")
    p = command("train-codes", "train LLC codes (Phase 1, Phase 2) on your own labelled images -> a model folder")
    p.add_argument("data", type=Path, help="an ImageFolder (one sub-folder per class) or an .npz of images, labels")
    p.add_argument("--out", type=Path, required=True, help="folder for model.pt, phase1.pt, model_card.json")
    p.add_argument("--bits", type=int, default=16, help="code length (default 16)")
    p.add_argument("--epochs", type=int, default=15, help="Phase 1 epochs (default 15)")
    p.add_argument("--phase2-epochs", type=int, help="Phase 2 epochs (default: twice Phase 1's)")
    p.add_argument("--width", type=int, default=16, help="ResNet-9 width (default 16)")
    p.add_argument("--holdout", type=float, default=0.1, help="fraction of every class held out to score (0.1)")
    p.add_argument("--batch-size", type=int, help="images per step (default 256)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--convert", action="store_true", help="convert grayscale / RGBA / palette images to RGB")
    p.add_argument("--device", default=None, help="e.g. cpu or cuda:0 (default: CUDA if available)")


def _images(path: Path, size: int, convert: bool):
    """(images (N, size, size, 3) uint8, names) from a folder of image files, an .npy or an .npz ('images', or
    its one array)."""
    from .api import InputError, read_images

    if path.is_dir():
        return read_images(path, size, convert)
    if not path.is_file():
        raise InputError(f"{path} does not exist; give a folder of images, an .npy or an .npz file")
    if path.suffix not in (".npy", ".npz"):
        return read_images([path], size, convert)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise InputError(f"{path} is not a readable numpy file ({type(e).__name__})") from e
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = list(data.keys())
            if "images" not in keys and len(keys) != 1:
                raise InputError(f"{path} holds {', '.join(keys)}: name the images array 'images'")
            data = data["images" if "images" in keys else keys[0]]
    return data, [f"{path.name}[{i}]" for i in range(len(data))]


def _is_codes_file(path: Path) -> bool:
    if path.suffix != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            return "format" in z.files and str(z["format"]).startswith("llc_lib.codes")
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def _same_model(got: dict, model_name: str, where: Path) -> None:
    """InputError unless the codes file ``got`` (``load_codes``) was made by the checkpoint ``model_name`` (a
    file name; a file that records none is taken as it is)."""
    from .api import InputError

    made = got["model"].split(" (")[0]
    if made and made != model_name:
        raise InputError(f"{where} holds codes of {made}, not of {model_name}: encode the images with this model")


def _table(header: list[str], rows: list[list], total: int) -> None:
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)))
    if total > len(rows):
        print(f"... {total - len(rows)} more")


def _write_json(rows, out: Path | None) -> None:
    if out is not None:
        from .core.files import write_json

        write_json(rows, out)
        print(f"wrote {out}")


def cmd_encode(args) -> int:
    from .api import load, save_codes

    model = load(args.model, args.role, args.device)
    images, names = _images(args.input, model.image_size, args.convert)
    bits = model.max_bits if args.bits is None else args.bits
    codes = model.encode(images, bits)
    save_codes(args.out, codes, bits, names, model)
    _table(
        ["image", f"code ({bits} bits, hex)"],
        [[n, c.tobytes().hex()] for n, c in zip(names, codes)][:SHOWN],
        len(names),
    )
    print(f"wrote {args.out}: {len(codes)} codes of {bits} bits ({codes.shape[1]} bytes each)")
    return 0


def cmd_search(args) -> int:
    from .api import HammingIndex, InputError, load_codes

    db, q = load_codes(args.database), load_codes(args.queries)
    if db["model"] and q["model"] and db["model"].split(" (")[0] != q["model"].split(" (")[0]:
        raise InputError(
            f"{args.queries} holds codes of {q['model']}, {args.database} of {db['model']}: encode both with one model"
        )
    if db["bits"] != q["bits"]:
        raise InputError(
            f"{args.queries} holds {q['bits']}-bit codes, {args.database} {db['bits']}-bit ones; encode both with "
            "the same --bits"
        )
    index = HammingIndex(db["bits"])
    index.add(db["codes"])
    dist, ids = index.search(q["codes"], args.top_k)
    rows = [
        {"query": qn, "hits": [{"name": db["names"][i], "id": int(i), "distance": int(d)} for d, i in zip(dr, ir)]}
        for qn, dr, ir in zip(q["names"], dist, ids)
    ]
    _table(
        ["query", "nearest (distance)"],
        [[r["query"], ", ".join(f"{h['name']} ({h['distance']})" for h in r["hits"][:3])] for r in rows][:SHOWN],
        len(rows),
    )
    _write_json(rows, args.out)
    return 0


def cmd_classify(args) -> int:
    from .api import load, load_codes

    model = load(args.model, args.role, args.device)
    if _is_codes_file(args.input):
        got = load_codes(args.input)
        _same_model(got, model.path.name, args.input)
        bits, names, codes = got["bits"], got["names"], got["codes"]
        if args.bits is not None and args.bits != bits:
            from .api import InputError

            raise InputError(f"{args.input} holds {bits}-bit codes, not --bits {args.bits}; leave --bits out")
    else:
        images, names = _images(args.input, model.image_size, args.convert)
        bits = model.max_bits if args.bits is None else args.bits
        codes = model.encode(images, bits)
    mhd, ed = model.classify(codes=codes, bits=bits), model.is_ood(codes=codes, bits=bits)
    rows = [
        {
            "name": n,
            "class": int(c),
            "class_name": str(cn),
            "distance": int(d),
            "ties": int(t),
            "ood": bool(o),
        }
        for n, c, cn, d, t, o in zip(names, mhd["label"], mhd["name"], mhd["distance"], mhd["ties"], ed["ood"])
    ]
    _table(
        ["image", "class (MHD)", "distance", "ties", "out of distribution (ED)"],
        [
            [r["name"], r["class_name"] or r["class"], r["distance"], r["ties"], "yes" if r["ood"] else "no"]
            for r in rows
        ][:SHOWN],
        len(rows),
    )
    print(f"{sum(r['ood'] for r in rows)} of {len(rows)} match no class code exactly ({bits} bits)")
    _write_json(rows, args.out)
    return 0


def cmd_train_codes(args) -> int:
    from .train_codes import train_codes

    card = train_codes(
        args.data,
        args.out,
        args.bits,
        args.epochs,
        args.phase2_epochs,
        args.width,
        args.holdout,
        args.seed,
        args.batch_size,
        args.convert,
        args.device,
    )
    h = card["held_out"]
    _table(
        ["held-out images", "class-code acc", "MHD", "ED", "bits right", "unique class codes"],
        [
            [
                card["images"]["held_out"],
                f"{100 * h['class_code_acc']:.1f} %",
                f"{100 * h['mhd_acc']:.1f} %",
                f"{100 * h['ed_acc']:.1f} %",
                f"{h['bits_right']:.2f} / {card['bits']}",
                f"{h['unique_class_codes']} / {len(card['classes'])}",
            ]
        ],
        1,
    )
    print(f"wrote {args.out}/model.pt and model_card.json; load it with llc_lib.load('{args.out}/model.pt')")
    return 0


COMMANDS = {"encode": cmd_encode, "search": cmd_search, "classify": cmd_classify, "train-codes": cmd_train_codes}

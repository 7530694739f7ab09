"""Use LLC's codes on your own images: load a trained model in one call, encode images to short binary codes,
classify them, flag those no class code matches (out of distribution), and search a database of codes.

    import llc_lib
    model = llc_lib.load("cpu")                  # the committed headline model of weights/cpu, or a .pt path
    codes = model.encode(images, bits=20)        # (N, 3) uint8: 20 bits packed into bytes (faiss's layout)
    out = model.classify(images, bits=20)        # MHD: {'label', 'name', 'distance', 'ties'}
    ood = model.is_ood(images, bits=20)          # ED: {'ood' (no class code matches), 'distance' (graded score)}
    index = llc_lib.HammingIndex(bits=20)
    index.add(codes)
    distances, ids = index.search(model.encode(queries, bits=20), top_k=10)

``images`` are uint8 RGB arrays (N, H, W, 3) of the model's image size (32 for the CIFAR-100 models);
``read_images`` reads and resizes image files into one. A code of k bits is the first k bits of the model's
code (the codes are nested): bit j of a code is bit j % 8 of byte j // 8 (little-endian within a byte, zero
padding to whole bytes), so ``HammingIndex``, faiss's ``IndexBinaryFlat`` and ``np.unpackbits(codes, axis=1,
bitorder="little")[:, :k]`` all read the same bits. Every bad input ends in one ``InputError`` line that says
what to do.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .core.errors import UserError
from .core.paths import REPO_ROOT, home, is_checkout
from .engine.ckpt import CheckpointError, load_checkpoint, read_checkpoint
from .engine.data import ArrayDataset, sha256
from .engine.device import pick_device
from .engine.inference import class_codes, outputs
from .engine.models import build_model
from .kernels.decode import ed_decode, hamming_topk, mhd_decode, pack

__all__ = [  # the names llc_lib exports
    "HammingIndex",
    "InputError",
    "LLCModel",
    "load",
    "load_codes",
    "pack_codes",
    "read_images",
    "save_codes",
    "unpack_codes",
]

MODEL_CARD = "model_card.json"  # beside a model trained by train_codes: its classes, bits, scores, recipe
ROLE = "headline"  # the model ``load`` gives for a profile name: Phase 2 of the headline (its instance codes)


class InputError(UserError):
    """An input the public API cannot use (images, codes, a model file, a code length); the message says what
    to do."""


def pack_codes(bits: np.ndarray) -> np.ndarray:
    """(N, k) codes (bool, or +-1 / real values read as bit 1 where > 0) -> (N, ceil(k/8)) uint8: bit j is bit
    j % 8 of byte j // 8, zero padding (the layout of faiss's binary indexes)."""
    k = np.asarray(bits).shape[1]
    return np.ascontiguousarray(pack(bits).view(np.uint8)[:, : -(-k // 8)])


def unpack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """(N, nbytes) uint8 packed codes -> (N, ``bits``) bool, the inverse of ``pack_codes``."""
    return np.unpackbits(_check_codes(codes, bits), axis=1, bitorder="little")[:, :bits].astype(bool)


def _check_codes(codes, bits: int) -> np.ndarray:
    codes = np.asarray(codes)
    want = -(-bits // 8)
    if codes.dtype != np.uint8 or codes.ndim != 2:
        raise InputError(
            f"codes must be a 2-D uint8 array of packed bits (N, {want}), got {codes.dtype} of shape {codes.shape}; "
            "make them with model.encode or llc_lib.pack_codes"
        )
    if codes.shape[1] != want:
        raise InputError(
            f"codes of {codes.shape[1] * 8} bits (packed: {codes.shape[1]} bytes) given where {bits}-bit codes "
            f"({want} bytes) are expected; encode them with the same bits"
        )
    if bits % 8 and len(codes) and (codes[:, -1] >> (bits % 8)).any():  # the padding of k-bit codes is zero
        raise InputError(
            f"codes with bits set beyond bit {bits} given where {bits}-bit codes are expected (longer codes?); "
            f"encode them with bits={bits}"
        )
    return codes


def check_images(images, size: int) -> np.ndarray:
    """``images`` as a uint8 (N, size, size, 3) numpy array; InputError, in one line, for another dtype, shape,
    channel count (grayscale, RGBA) or size. A single (H, W, 3) image is taken as a batch of one."""
    a = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if a.ndim == 3 and a.shape[-1] in (1, 3, 4):
        a = a[None]
    if a.ndim == 3:  # (N, H, W): grayscale
        raise InputError(
            f"images of shape {a.shape} have no channel axis (grayscale); give RGB (N, H, W, 3), e.g. "
            "np.repeat(images[..., None], 3, -1), or read the files with llc_lib.read_images(..., convert=True)"
        )
    if a.ndim != 4:
        raise InputError(f"images must be a uint8 array (N, H, W, 3), got shape {a.shape}")
    if a.shape[-1] != 3:
        what = {1: "grayscale", 4: "RGBA"}.get(a.shape[-1], f"{a.shape[-1]}-channel")
        raise InputError(
            f"images are {what} (last axis {a.shape[-1]}), the model takes RGB (N, H, W, 3); convert them "
            "(PIL: image.convert('RGB')), or read the files with llc_lib.read_images(..., convert=True)"
        )
    if a.dtype != np.uint8:
        raise InputError(
            f"images must be uint8 in 0..255, got {a.dtype}; for floats in [0, 1] use "
            "(images * 255).round().astype(np.uint8)"
        )
    if a.shape[1:3] != (size, size):
        raise InputError(
            f"the model takes {size}x{size} images, got {a.shape[1]}x{a.shape[2]}; resize them, e.g. "
            f"llc_lib.read_images(files, size={size})"
        )
    if len(a) == 0:
        raise InputError("no images given (an empty array)")
    return np.ascontiguousarray(a)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def read_images(files, size: int = 32, convert: bool = False) -> tuple[np.ndarray, list[str]]:
    """Read image files (a folder, searched recursively for ``IMAGE_SUFFIXES``, or a list of paths) into a uint8
    (N, size, size, 3) array, each resized with bilinear filtering; returns (images, the file names in order).
    Images that are not RGB (grayscale, RGBA, palette) are refused unless ``convert`` (then converted to RGB,
    RGBA by dropping its alpha). InputError, naming the file, for a file that is not a readable image, and for
    a folder without images."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(files, (str, Path)):
        folder = Path(files)
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder; give a folder of images or a list of image files")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    out, names = [], []
    for f in map(Path, files):
        try:
            with Image.open(f) as im:
                im.load()
                if im.mode != "RGB":
                    if not convert:
                        raise InputError(
                            f"{f} is a {im.mode} image, not RGB; convert it, or pass convert=True "
                            "(--convert on the command line)"
                        )
                    im = im.convert("RGB")
                out.append(np.asarray(im.resize((size, size), Image.BILINEAR), dtype=np.uint8))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise InputError(f"{f} is not a readable image ({type(e).__name__}); remove or replace it") from e
        names.append(str(f))
    if not out:
        raise InputError("no image files given")
    return np.stack(out), names


@dataclass(frozen=True)
class LLCModel:
    """A trained LLC model (Phase 2 gives the instance codes; a Phase 1 model encodes too) and what it needs:
    its code length ``max_bits``, ``image_size``, class codes and class names. Make one with ``load``."""

    net: torch.nn.Module
    device: torch.device
    max_bits: int
    image_size: int
    class_names: tuple[str, ...]
    path: Path
    role: str | None = None

    @property
    def num_classes(self) -> int:
        return self.net.head.num_classes

    def _bits(self, bits: int | None) -> int:
        k = self.max_bits if bits is None else bits
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.max_bits:
            raise InputError(f"bits must be an integer in 1..{self.max_bits} (this model's code length), got {bits!r}")
        return int(k)

    def project(self, images) -> np.ndarray:
        """(N, max_bits) float32 real projections of ``images`` (their signs are the codes)."""
        x = torch.from_numpy(check_images(images, self.image_size))
        data = ArrayDataset(x, torch.zeros(len(x), dtype=torch.long))
        return outputs(self.net, data, self.device, only=("proj",))["proj"]

    def encode(self, images, bits: int | None = None, real: bool = False):
        """(N, ceil(bits/8)) uint8 packed ``bits``-bit codes of ``images`` (default: all the model's bits); with
        ``real``, (codes, the (N, bits) float32 projections they are the signs of)."""
        k = self._bits(bits)
        z = self.project(images)[:, :k]
        return (pack_codes(z), z) if real else pack_codes(z)

    def class_codes(self, bits: int | None = None) -> np.ndarray:
        """(C, ceil(bits/8)) uint8 packed class codes, the first ``bits`` bits."""
        return pack_codes(class_codes(self.net)[:, : self._bits(bits)])

    def _codes(self, images, codes, bits: int) -> np.ndarray:
        if (images is None) == (codes is None):
            raise InputError("give images or codes (packed, from encode), not both")
        return self.encode(images, bits) if codes is None else _check_codes(codes, bits)

    def classify(self, images=None, bits: int | None = None, codes=None) -> dict:
        """Minimum Hamming decoding of ``images`` (or of packed ``codes``) at ``bits`` bits: {'label' (N,) the
        class with the nearest class code (the lowest index among ties), 'name' (N,) its name ('' without
        names), 'distance' (N,) its Hamming distance, 'ties' (N,) how many classes share that distance}."""
        k = self._bits(bits)
        inst = unpack_codes(self._codes(images, codes, k), k)
        out = mhd_decode(inst, class_codes(self.net)[:, :k] > 0)
        names = np.array([self.class_names[i] if self.class_names else "" for i in out["pred"]])
        return {"label": out["pred"], "name": names, "distance": out["dist"].astype(np.int64), "ties": out["n_ties"]}

    def is_ood(self, images=None, bits: int | None = None, codes=None) -> dict:
        """Exact decoding at ``bits`` bits: {'ood' (N,) bool, True where no class code equals the code (LLC's
        zero-sample out-of-distribution rule), 'label' (N,) the class whose code it equals, -1 for none,
        'distance' (N,) Hamming distance to the nearest class code (0 = in distribution; larger = further out:
        a graded score for a threshold of your own)}."""
        k = self._bits(bits)
        inst = unpack_codes(self._codes(images, codes, k), k)
        cls = class_codes(self.net)[:, :k] > 0
        ed, mhd = ed_decode(inst, cls), mhd_decode(inst, cls, ties=False)
        return {"ood": ed["pred"] < 0, "label": ed["pred"], "distance": mhd["dist"].astype(np.int64)}


def weights_folder(profile: str) -> Path:
    """``<checkout>/weights/<profile>``: the committed weights of a profile, from the checkout the package runs
    from, else from the one ``core.paths.home`` finds (an installed package run in the project folder).
    InputError, in one line, when there are none (a package installed without the project's repository)."""
    for root in dict.fromkeys((REPO_ROOT, home())):
        folder = root / "weights" / profile
        if is_checkout(root) and (folder / "MANIFEST.json").is_file():
            return folder
    raise InputError(
        f"no committed weights for {profile!r} here: they are in the project's repository (weights/{profile}); "
        f"clone it and run from there, or pass the path of a checkpoint (.pt)"
    )


def roles(profile: str = "cpu") -> dict[str, dict]:
    """{role: {'file': checkpoint path relative to the weights folder, 'what': one line}} of the committed
    weights of ``profile`` (their MANIFEST.json's 'roles')."""
    manifest = json.loads((weights_folder(profile) / "MANIFEST.json").read_text())
    if "roles" not in manifest:
        raise InputError(f"weights/{profile}/MANIFEST.json names no roles; export the weights again")
    return manifest["roles"]


def load(model: str | Path = "cpu", role: str = ROLE, device: str | None = None) -> LLCModel:
    """An ``LLCModel`` from a profile's committed weights by ``role`` (``roles``; default: the headline's
    Phase 2, whose codes the paper's claims are about) or from the path of a checkpoint (.pt). The checkpoint is
    verified against its content hash; the architecture, code length, image size and class names come from it
    and the manifest. InputError, in one line, for a file that is not an LLC model of this project."""
    path, names = Path(model), ()
    if path.suffix != ".pt":
        folder = weights_folder(str(model))
        by_role = roles(str(model))
        if role not in by_role:
            raise InputError(f"weights/{model} has no model of role {role!r}; choose one of {', '.join(by_role)}")
        manifest = json.loads((folder / "MANIFEST.json").read_text())
        rel = by_role[role]["file"]
        path, names = folder / rel, tuple(manifest.get("classes", ()))
        if not path.is_file() or sha256(path) != manifest["files"].get(rel):
            raise InputError(
                f"{path} is missing or does not match weights/{model}/MANIFEST.json (changed on disk); restore it: "
                f"git checkout -- weights/{model}"
            )
        role_name = role
    else:
        role_name = None
        card = path.with_name(MODEL_CARD)
        if card.is_file():
            names = tuple(json.loads(card.read_text()).get("classes", ()))
    try:
        ck = read_checkpoint(path, missing="give the path of an LLC checkpoint (.pt)", unreadable="use another file")
    except CheckpointError as e:
        raise InputError(str(e)) from e
    meta, spec = ck.get("meta") if isinstance(ck, dict) else None, ck.get("spec") if isinstance(ck, dict) else None
    if not isinstance(meta, dict) or not isinstance(spec, dict):
        raise InputError(f"{path} is not a model of this project (no 'meta' and 'spec'); give an LLC checkpoint")
    if meta.get("head") != "llc":
        raise InputError(
            f"{path} is a {meta.get('head')!r} model, not an LLC model: it has no binary codes; give a Phase 1 or "
            f"Phase 2 LLC checkpoint (llc-*.pt or instance-*.pt)"
        )
    arch = spec["arch"]
    net = build_model(
        "llc",
        meta["num_classes"],
        width=arch["width"],
        backbone=arch["backbone"],
        bits=meta["bits"],
        aux=any(k.startswith("aux.") for k in ck["model"]),
        scaled=meta.get("scaled", True),
    )
    try:
        load_checkpoint(path, net)
    except CheckpointError as e:
        raise InputError(str(e)) from e
    dev = pick_device(device)
    return LLCModel(net.eval().to(dev), dev, meta["bits"], spec["data"].get("image_size", 32), names, path, role_name)


CODES_FORMAT = "llc_lib.codes/1"


def _npz(path: Path | str):
    """The open .npz archive at ``path``; InputError when it is another kind of file (an .npy array, say)."""
    z = np.load(path, allow_pickle=False)
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise InputError(f"{path} is a single array, not a codes file of llc_lib (.npz); make one with encode")
    return z


def save_codes(path: Path | str, codes, bits: int, names=None, model: LLCModel | None = None) -> None:
    """Write a codes file (.npz, atomically): 'codes' (N, ceil(bits/8)) uint8 packed, 'bits', 'names' (N,) (one
    per code: file names, or indices), 'model' (the checkpoint that made them, and its role) and 'format'."""
    from .core.files import tmp_path

    codes = _check_codes(codes, bits)
    names = np.array([str(n) for n in (names if names is not None else range(len(codes)))])
    if len(names) != len(codes):
        raise InputError(f"{len(names)} names for {len(codes)} codes")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    made = "" if model is None else f"{model.path.name} ({model.role or 'a checkpoint'})"
    with open(tmp, "wb") as f:
        np.savez(f, codes=codes, bits=np.int64(bits), names=names, model=np.str_(made), format=np.str_(CODES_FORMAT))
    tmp.replace(path)


def load_codes(path: Path | str) -> dict:
    """{'codes', 'bits', 'names' (list), 'model'} of a codes file ``save_codes`` wrote; InputError, in one line,
    for a missing file or another kind of file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist; make a codes file with `llc encode`")
    try:
        with _npz(path) as z:
            if "format" not in z.files or str(z["format"]) != CODES_FORMAT:
                raise InputError(
                    f"{path} is not a codes file of llc_lib (no format {CODES_FORMAT}); make one with encode"
                )
            bits = int(z["bits"])
            out = {"codes": _check_codes(z["codes"], bits), "bits": bits, "names": [str(n) for n in z["names"]]}
            out["model"] = str(z["model"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise InputError(f"{path} could not be read as a codes file ({type(e).__name__})") from e
    return out


class HammingIndex:
    """A flat (exhaustive) index of packed ``bits``-bit codes: ``add`` codes, ``search`` the ``top_k`` nearest
    by Hamming distance, ``save`` / ``load`` as .npz. It returns what faiss's ``IndexBinaryFlat`` returns for
    the same codes: (distances int32 (Q, top_k), ids int64 (Q, top_k)), nearest first, ids in the order added.
    Among equal distances the ids come in increasing order here; faiss orders ties its own way, so where a tie
    straddles the top_k cut-off the two may return different ids at that distance. ``backend``: 'numpy' (this
    package's kernels), 'faiss' (needs faiss-cpu) or 'auto' (faiss when it is installed). Memory: ceil(bits/8)
    bytes per code. The codes are searched in the backend's own form, made at the first search after an
    ``add``: change them only through ``add``, and do not ``add`` while another thread searches."""

    def __init__(self, bits: int, backend: str = "auto"):
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 4096:
            raise InputError(f"bits must be an integer in 1..4096, got {bits!r}")
        if backend not in ("auto", "numpy", "faiss"):
            raise InputError(f"backend must be 'auto', 'numpy' or 'faiss', got {backend!r}")
        self.bits, self.nbytes = int(bits), -(-int(bits) // 8)
        self.backend = _faiss_or_numpy(backend)
        self._parts: list[np.ndarray] = []
        self._codes = np.zeros((0, self.nbytes), np.uint8)
        self._searcher = None  # the codes as the backend searches them (faiss index or uint64 words), on demand

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def codes(self) -> np.ndarray:
        """(n, nbytes) uint8: every code added, in order."""
        if self._parts:
            self._codes = np.concatenate([self._codes, *self._parts])
            self._parts = []
        return self._codes

    @property
    def memory_bytes(self) -> int:
        """Bytes the codes take: ceil(bits/8) per code."""
        return len(self) * self.nbytes

    def add(self, codes) -> None:
        """Append packed codes (n, ceil(bits/8)) uint8; their ids continue from len(self)."""
        self._parts.append(_check_codes(codes, self.bits).copy())
        self._searcher = None

    def search(self, queries, top_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(distances int32 (Q, top_k), ids int64 (Q, top_k)) of the ``top_k`` codes nearest each query."""
        q, db = _check_codes(queries, self.bits), self.codes
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= len(db):
            raise InputError(f"top_k must be an integer in 1..{len(db)} (the codes in the index), got {top_k!r}")
        if self._searcher is None:
            self._searcher = _faiss_index(db) if self.backend == "faiss" else _words(db)
        if self.backend == "faiss":
            d, i = self._searcher.search(q, int(top_k))
            return d.astype(np.int32), i.astype(np.int64)
        idx, dist = hamming_topk(_words(q), self._searcher, int(top_k))
        return dist.astype(np.int32), idx

    def save(self, path: Path | str) -> None:
        """Write the index to ``path`` (.npz: the codes and their bit count), atomically."""
        from .core.files import tmp_path

        path = Path(path)
        tmp = tmp_path(path)
        with open(tmp, "wb") as f:
            np.savez(f, codes=self.codes, bits=np.int64(self.bits), format=np.str_("llc_lib.HammingIndex/1"))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str, backend: str = "auto") -> "HammingIndex":
        """The index ``save`` wrote to ``path``; InputError, in one line, for another kind of file."""
        try:
            with _npz(path) as z:
                if str(z.get("format", "")) != "llc_lib.HammingIndex/1":
                    raise InputError(f"{path} is not a saved HammingIndex (no format llc_lib.HammingIndex/1)")
                index = cls(int(z["bits"]), backend)
                index.add(z["codes"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise InputError(f"{path} could not be read as a HammingIndex ({type(e).__name__}: {e})") from e
        return index


def _faiss_or_numpy(backend: str) -> str:
    if backend == "numpy":
        return backend
    try:
        import faiss  # noqa: F401
    except ImportError as e:
        if backend == "faiss":
            raise InputError("backend 'faiss' needs faiss-cpu: pip install faiss-cpu") from e
        return "numpy"
    return "faiss"


def _faiss_index(codes: np.ndarray):
    """A faiss ``IndexBinaryFlat`` holding the packed ``codes`` (n, nbytes) uint8."""
    import faiss

    index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    index.add(codes)
    return index


def _words(codes: np.ndarray) -> np.ndarray:
    """Packed ``codes`` (n, nbytes) uint8 as (n, ceil(nbytes/8)) uint64 words, zero-padded: the layout of this
    package's Hamming kernels (``kernels.decode``), with the same bit order."""
    words = -(-codes.shape[1] // 8)
    padded = np.zeros((len(codes), words * 8), np.uint8)
    padded[:, : codes.shape[1]] = codes
    return padded.view(np.uint64)

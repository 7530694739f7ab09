"""The shipped data files rebuilt from the official dataset archives (recipes: ../shared/datasets/README.md).

  cifar100      cifar-100-python.tar.gz  ->  cifar100.npz              every array identical to the shipped one
  tinyimagenet  tiny-imagenet-200.zip    ->  tinyimagenet_test32.npz   every array identical to the shipped one
  cifar10       cifar-10-python.tar.gz   ->  cifar10_test.npz          every array but ``images`` identical

The shipped CIFAR-10 file was decoded from a JPEG copy (quality about 75) of the official test images. Built
here, it holds the official pixels instead, which differ from the shipped ones by the JPEG artefacts, so the
CIFAR-10 OOD row of notebook 07 (ood) can move; its labels, names and file names are the shipped ones.

Identity is checked per array (``ARRAY_SHA256``: dtype, shape and bytes), because the npz bytes of a rebuilt
file can differ from the shipped file's; the CIFAR-10 images are checked to be the same images up to JPEG error
(``CIFAR10_MEANS``). Archives are downloaded from the official URLs and checked against their published MD5,
unless a folder of local copies under the official file names is given (``python -m llc_lib data --archives
DIR`` or $LLC_ARCHIVES). ``prepare_data`` makes the data folder: links to ``../shared/datasets`` where that
exists, else these builds; ``verify_files`` checks what is there.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..core.files import file_digest, hash_array, sweep_leftovers, tmp_path, write_error
from ..engine.data import SHA256, DataError, data_dir, sha256

SEED = 20261122  # every seeded choice of the recipes: np.random.default_rng(SEED)

# Per-array SHA-256 (array_sha256) of the shipped files. cifar10_test.npz's images are not listed: built from
# the official archive they are the official pixels, not the shipped JPEG-derived ones (CIFAR10_MEANS checks them).
ARRAY_SHA256 = {
    "cifar100.npz": {
        "images": "1429726670394a76ed8e61f107521c9ba01bb44f413de116aa1dc1f0cefddee4",
        "labels": "be18c58574b6cbfc7dc86decd8163a0ecc5302dfd2caf5677d3c90d047074442",
        "coarse_labels": "27ff4794b719b1a0f04c7ad13bf54ca6762f3b0d3cff43e9b7d5e4958697698d",
        "label_names": "4cbcfc71dc81c73c24e58dc58a00c033150307c993615c289d11defde66d5241",
        "coarse_names": "e3dc3da7f02ece3629477fbdd437849c38b12fa021e2b41f928d5b3dabb4b04b",
        "split": "d18ea4b8e9bf7f0dc34ddc036482206e1afdf8a3cd788cbf7d1b9f72d0df83d5",
    },
    "cifar10_test.npz": {
        "labels": "4d0f5658b5ce403bd0eb30b44e9a4e7e1ab30efd4fc03daf1e5d4b8375470d56",
        "label_names": "606e97b20057fcaf2617d01fdff8e3a2f9080bfe5180d40fb57fa1918eba5f0d",
        "source_files": "f0078252605e500964ac5f5f3c699822f6e6848d1ae0925c5fdb9f66ed42606d",
    },
    "tinyimagenet_test32.npz": {
        "images": "285484d2c949ff529b81bb9cbffba6be7fae62860a0de6895faf21decf6ceb1d",
        "source_files": "b07d14c9c1d13f4e7a6690cb025473785da18e5b0cc933437d2268e5011030b1",
    },
}
# The shipped (JPEG-derived) CIFAR-10 images: tells them apart from other pixels, such as the official ones.
CIFAR10_JPEG_IMAGES_SHA256 = "67eca7236269bc61ab1e792f48616fa30284f6bcb1dbbf76e9f667f2c8336538"
CIFAR10_IMAGES_SHAPE = (5000, 32, 32, 3)
# Mean grey level (rounded) of every 50th shipped CIFAR-10 image. Other pixels of the same images stay within the
# JPEG error of these (at most 2.2 levels for Pillow's quality 75 on 5,000 CIFAR-100 images); other images
# mostly do not (6 % of them within 4 levels), so a wrong order or selection is caught.
CIFAR10_MEANS = bytes.fromhex(
    "da7d72566eb5707a627b9088438d6093748e993270a29c70906cb38e38697c7a496b597a61556b37615a9c6fb16369529c945d655a"
    "9b794d8aa57774625657666b65656f553a4aa56a8ac14b8c71788f846cb2a37f5e7b4f56a36db26f6c7d927269697e"
)
OFFICIAL_PIXELS_NOTE = "official pixels, differ from the shipped JPEG-derived copy (other arrays identical)"


def array_sha256(a: np.ndarray) -> str:
    """SHA-256 (hex) of an array's dtype, shape and C-order bytes."""
    h = hashlib.sha256()
    hash_array(h, a)
    return h.hexdigest()


def _same_cifar10_images(images: np.ndarray) -> bool:
    """Whether uint8 (5000, 32, 32, 3) ``images`` are the shipped CIFAR-10 images up to JPEG error: 95 of the 100
    sampled per-image means within 4 grey levels of ``CIFAR10_MEANS``."""
    if images.dtype != np.uint8 or images.shape != CIFAR10_IMAGES_SHAPE:
        return False
    means = images[::50].reshape(100, -1).mean(1)
    return int((np.abs(means - np.frombuffer(CIFAR10_MEANS, np.uint8)) <= 4).sum()) >= 95


def differing_arrays(file: str, arrays: dict) -> list[str]:
    """Keys of ``arrays`` that are not the shipped ``file``'s: missing, extra or with other content (the images
    of cifar10_test.npz: other dtype or shape, or not the same images up to JPEG error)."""
    expected = dict(ARRAY_SHA256[file])
    if file == "cifar10_test.npz":
        expected["images"] = None
    bad = sorted(set(expected) ^ set(arrays))
    for key in (k for k in expected if k in arrays):
        a = arrays[key]
        ok = _same_cifar10_images(a) if expected[key] is None else array_sha256(a) == expected[key]
        if not ok:
            bad.append(key)
    return bad


def _note(file: str, arrays: dict) -> str:
    if file == "cifar10_test.npz" and array_sha256(arrays["images"]) != CIFAR10_JPEG_IMAGES_SHA256:
        return OFFICIAL_PIXELS_NOTE
    return "arrays identical to the shipped file's"


def file_status(path: Path) -> tuple[bool, str]:
    """(usable, note) of a data file named like a shipped one: usable when its bytes are the shipped file's
    (sha256) or its arrays are (``differing_arrays``: cifar10_test.npz's images up to JPEG error)."""
    path = Path(path)
    if sha256(path) == SHA256[path.name]:
        return True, "sha256 OK"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # zipfile.BadZipFile, ValueError, EOFError, ...
        return False, f"sha256 MISMATCH (unreadable: {type(e).__name__})"
    bad = differing_arrays(path.name, arrays)
    if bad:
        return False, f"sha256 MISMATCH (array(s) {', '.join(bad)} differ from the shipped file's)"
    return True, _note(path.name, arrays) + "; npz bytes differ"


# ---------------------------------------------------------------------------------------------- reading


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only what the CIFAR pickles hold: dicts, lists, bytes, str, ints and numpy arrays (whose
    reconstruction needs numpy's ``_reconstruct``, ``ndarray`` and ``dtype``); any other global is refused, so a
    tampered archive cannot run code."""

    GLOBALS = {
        ("numpy.core.multiarray", "_reconstruct"): np.zeros(1).__reduce__()[0],  # as the official pickles name it
        ("numpy._core.multiarray", "_reconstruct"): np.zeros(1).__reduce__()[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        if (module, name) not in self.GLOBALS:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return self.GLOBALS[(module, name)]


def _unpickle(data: bytes, where: str) -> dict:
    """The dict a CIFAR pickle holds (``_CifarUnpickler``, encoding='bytes'); DataError naming ``where`` when
    the bytes are no such pickle: any failure of the unpickling (a truncated or garbled stream, a refused
    global, numpy refusing the array it describes) means a malformed member."""
    try:
        obj = _CifarUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:  # UnpicklingError, EOFError, TypeError, KeyError, ... from malformed bytes
        raise DataError(
            f"{where} is not a readable CIFAR pickle ({type(e).__name__}: {str(e)[:200]}); the "
            f"archive is corrupt or not the official one. Replace it and run again."
        ) from e
    if not isinstance(obj, dict):
        raise DataError(
            f"{where} holds a Python {type(obj).__name__}, not the dict of a CIFAR pickle; it is not "
            f"the official archive"
        )
    return obj


def _tar_pickles(archive: Path, folder: str, names: tuple[str, ...]) -> dict[str, dict]:
    """{name: unpickled dict} of the members ``folder/name`` of a .tar.gz, read in one pass. Each must be a
    regular file: a link (which could read another member or a file outside) or a folder is refused."""
    want, out = {f"{folder}/{n}": n for n in names}, {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name in want:
                    where = f"{archive}:{member.name}"
                    if not member.isfile():
                        kind = (
                            "a link"
                            if member.issym() or member.islnk()
                            else "a folder"
                            if member.isdir()
                            else "not a regular file"
                        )
                        raise DataError(f"{where} is {kind}, not a file; it is not the official archive")
                    out[want[member.name]] = _unpickle(tar.extractfile(member).read(), where)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise DataError(
            f"{archive} could not be read ({type(e).__name__}: {e}); it is corrupt or not the "
            f"official archive. Replace it and run again."
        ) from e
    missing = [f"{folder}/{n}" for n in names if n not in out]
    if missing:
        raise DataError(f"{archive} lacks {', '.join(missing)}; it is not the official archive")
    return out


def _get(d: dict, key: str, where: str):
    """``d[key]`` of a pickle loaded with encoding='bytes' (keys are bytes; str accepted too)."""
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise DataError(f"{where} has no '{key}'; it is not the official archive")


def _names(values, where: str) -> np.ndarray:
    """Class names (a list of bytes or str) as a numpy str array as wide as the longest name; DataError naming
    ``where`` for anything else."""
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, (bytes, str)) for v in values):
        raise DataError(f"{where}: the class names must be a list of strings; it is not the official archive")
    return np.array([v.decode("latin1") if isinstance(v, bytes) else v for v in values])


def _labels(values, where: str) -> np.ndarray:
    """Labels (a list or 1-D array of integers) as int64; DataError naming ``where`` for anything else, such
    as strings (numpy would read '3' as 3)."""
    a = np.asarray(values) if isinstance(values, (list, tuple, np.ndarray)) else None
    if a is None or a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        got = type(values).__name__ if a is None else f"{a.dtype} {a.shape}"
        raise DataError(f"{where}: the labels must be a list of integers, got {got}; it is not the official archive")
    return a.astype(np.int64)


def _nhwc(data, where: str) -> np.ndarray:
    """CIFAR rows (N, 3072) uint8, channel-major (R, G, B planes of 32x32), as uint8 (N, 32, 32, 3)."""
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{where}: 'data' must be uint8 (N, 3072), got {data.dtype} {data.shape}")
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _check_counts(labels: np.ndarray, classes: int, per_class: int, where: str) -> None:
    if labels.min() < 0 or labels.max() >= classes or (np.bincount(labels, minlength=classes) != per_class).any():
        raise DataError(
            f"{where}: expected {per_class} images in each of {classes} classes; it is not the official archive"
        )


# ---------------------------------------------------------------------------------------------- converters


def cifar100_arrays(archive: Path | str) -> dict[str, np.ndarray]:
    """The arrays of cifar100.npz from the official cifar-100-python.tar.gz: all 60,000 images (train and test
    pooled), ordered by (fine label, SHA-1 hex digest of the image's NHWC bytes); ``split`` chooses 100 test
    images per class with one default_rng(SEED), class after class.

    Returns images uint8 (60000, 32, 32, 3), labels and coarse_labels int16 (60000,), label_names <U13 (100,),
    coarse_names <U30 (20,), split uint8 (60000,) (0 train, 1 test)."""
    archive = Path(archive)
    p = _tar_pickles(archive, "cifar-100-python", ("train", "test", "meta"))
    where = {n: f"{archive}:cifar-100-python/{n}" for n in p}
    images = np.concatenate([_nhwc(_get(p[n], "data", where[n]), where[n]) for n in ("train", "test")])
    fine = np.concatenate([_labels(_get(p[n], "fine_labels", where[n]), where[n]) for n in ("train", "test")])
    coarse = np.concatenate([_labels(_get(p[n], "coarse_labels", where[n]), where[n]) for n in ("train", "test")])
    if not len(images) == len(fine) == len(coarse) == 60_000:
        raise DataError(f"{archive}: expected 60,000 images and labels, got {len(images)}, {len(fine)}, {len(coarse)}")
    _check_counts(fine, 100, 600, str(archive))
    digests = [hashlib.sha1(im.tobytes()).hexdigest() for im in images]
    fine_list = fine.tolist()
    order = np.array(sorted(range(len(images)), key=lambda i: (fine_list[i], digests[i])))
    labels = fine[order]
    split = np.zeros(len(labels), np.uint8)
    rng = np.random.default_rng(SEED)
    for c in range(100):
        idx = np.flatnonzero(labels == c)
        split[idx[rng.permutation(len(idx))[:100]]] = 1
    meta = f"{archive}:cifar-100-python/meta"
    return dict(
        images=images[order],
        labels=labels.astype(np.int16),
        coarse_labels=coarse[order].astype(np.int16),
        label_names=_names(_get(p["meta"], "fine_label_names", meta), meta),
        coarse_names=_names(_get(p["meta"], "coarse_label_names", meta), meta),
        split=split,
    )


def cifar10_ood_arrays(archive: Path | str) -> dict[str, np.ndarray]:
    """The arrays of cifar10_test.npz from the official cifar-10-python.tar.gz: the 10,000 test images grouped
    by class (standard order), within a class in test-batch order and named ``class/NNNN.jpg`` by their 0-based
    position there (the numbering of the JPEG copy the shipped file came from); then, with one
    default_rng(SEED), 500 per class, kept in that order.

    Returns images uint8 (5000, 32, 32, 3) (the official pixels, not the shipped JPEG-derived ones), labels
    int16 (5000,), label_names <U10 (10,), source_files <U19 (5000,)."""
    archive = Path(archive)
    p = _tar_pickles(archive, "cifar-10-batches-py", ("test_batch", "batches.meta"))
    where = f"{archive}:cifar-10-batches-py/test_batch"
    images = _nhwc(_get(p["test_batch"], "data", where), where)
    batch_labels = _labels(_get(p["test_batch"], "labels", where), where)
    meta = f"{archive}:cifar-10-batches-py/batches.meta"
    names = _names(_get(p["batches.meta"], "label_names", meta), meta)
    if len(images) != 10_000 or len(batch_labels) != 10_000 or len(names) != 10:
        raise DataError(f"{where}: expected 10,000 images and labels and 10 class names")
    _check_counts(batch_labels, 10, 1000, where)
    by_class = [np.flatnonzero(batch_labels == c) for c in range(10)]  # ascending: test-batch order
    order = np.concatenate(by_class)
    labels = batch_labels[order]
    files = np.array([f"{names[c]}/{j:04d}.jpg" for c in range(10) for j in range(len(by_class[c]))])
    rng = np.random.default_rng(SEED)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:500] for c in range(10)]))
    return dict(
        images=images[order][keep], labels=labels[keep].astype(np.int16), label_names=names, source_files=files[keep]
    )


_TINY_TEST = re.compile(r"tiny-imagenet-200/test/images/(test_\d+\.JPEG)")


def _box32(data: bytes, where: str) -> np.ndarray:
    """An image file's bytes as uint8 (32, 32, 3): RGB, resized with Pillow's BOX filter; DataError naming
    ``where`` when Pillow cannot decode them."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB").resize((32, 32), Image.Resampling.BOX))
    except Exception as e:  # UnidentifiedImageError, SyntaxError, ValueError, DecompressionBombError, ...
        raise DataError(
            f"{where} is not an image Pillow can read ({type(e).__name__}: {str(e)[:200]}); the "
            f"archive is corrupt or not the official one"
        ) from e


def tinyimagenet_ood_arrays(archive: Path | str) -> dict[str, np.ndarray]:
    """The arrays of tinyimagenet_test32.npz from the official tiny-imagenet-200.zip: of the 10,000 test images
    (names sorted as strings) the 5,000 at np.sort(default_rng(SEED).permutation(10000)[:5000]), each converted
    to RGB and resized to 32x32 with Pillow's BOX filter (the mean of each 2x2 block).

    Returns images uint8 (5000, 32, 32, 3), source_files <U14 (5000,) (such as ``test_123.JPEG``)."""
    archive = Path(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {m.group(1): n for n in zf.namelist() if (m := _TINY_TEST.fullmatch(n))}
            if len(members) != 10_000:
                raise DataError(
                    f"{archive} holds {len(members)} files tiny-imagenet-200/test/images/test_<n>.JPEG, "
                    f"not 10,000; it is not the official archive"
                )
            files = np.array(sorted(members))
            keep = np.sort(np.random.default_rng(SEED).permutation(len(files))[:5000])
            images = np.stack([_box32(zf.read(members[f]), f"{archive}:{members[f]}") for f in files[keep]])
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DataError(
            f"{archive} could not be read ({type(e).__name__}: {e}); it is corrupt or not the "
            f"official archive. Replace it and run again."
        ) from e
    return dict(images=images, source_files=files[keep])


@dataclass(frozen=True)
class Source:
    """A data file, the official archive it is built from (file name, URL, published MD5) and the converter."""

    file: str
    archive: str
    url: str
    md5: str
    convert: Callable[[Path], dict]


SOURCES = {
    "cifar100": Source(
        "cifar100.npz",
        "cifar-100-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        cifar100_arrays,
    ),
    "cifar10": Source(
        "cifar10_test.npz",
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        cifar10_ood_arrays,
    ),
    "tinyimagenet": Source(
        "tinyimagenet_test32.npz",
        "tiny-imagenet-200.zip",
        "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
        "90528d7ca1a48142e341f4ef8d21d0de",
        tinyimagenet_ood_arrays,
    ),
}


# ---------------------------------------------------------------------------------------------- building


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(SOURCES)}")
    return SOURCES[name]


def build(name: str, archive: Path | str, out: Path | str) -> str:
    """Write the data file of ``name`` (a key of ``SOURCES``) from its official ``archive`` to ``out`` (a
    compressed npz, written to a temporary file first) once its arrays match the shipped file's
    (``differing_arrays``). Never overwrites: an existing ``out`` is refused. Returns a note for the user. A
    failed write (a full disk) raises ``files.WriteError`` naming ``out``, with the temporary file removed."""
    src, out = _source(name), Path(out)
    if out.exists() or out.is_symlink():
        raise DataError(f"{out} exists and is not overwritten; move it away first to rebuild it")
    arrays = src.convert(Path(archive))
    bad = differing_arrays(src.file, arrays)
    if bad:
        raise DataError(
            f"{src.file} built from {archive}: array(s) {', '.join(bad)} differ from the shipped "
            f"file's; nothing was written. Check that the archive's MD5 is "
            f"{src.md5}; if it is, this numpy or Pillow computes other values than the ones the "
            f"shipped files were made with (numpy 2.4): report it with their versions."
        )
    tmp = tmp_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as f:  # the usual permissions (umask), unlike a mkstemp file
            np.savez_compressed(f, **arrays)
        _publish(tmp, out)
    except OSError as e:  # a full disk, a quota, no permission: one line naming the file
        raise write_error(out, e) from e
    finally:
        tmp.unlink(missing_ok=True)
    return _note(src.file, arrays)


def _publish(tmp: Path, out: Path) -> None:
    """Give the finished ``tmp`` the name ``out`` in one step, never replacing a file that appeared meanwhile
    (a hard link; os.replace after a last check where the file system has none)."""
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise DataError(f"{out} appeared while it was being built and is not overwritten") from None
    except OSError:
        if out.exists() or out.is_symlink():
            raise DataError(f"{out} appeared while it was being built and is not overwritten") from None
        os.replace(tmp, out)


# ---------------------------------------------------------------------------------------------- archives


def md5(path: Path) -> str:
    """Hex MD5 of the file's bytes (what the archives' publishers give)."""
    return file_digest(path, "md5")


def check_md5(path: Path, src: Source) -> None:
    """Raise DataError unless ``path`` has the published MD5 of ``src``'s archive."""
    got = md5(path)
    if got != src.md5:
        raise DataError(
            f"{path} has MD5 {got}, not {src.md5} as the official {src.archive} has; it is "
            f"truncated or another file. Replace it with a copy from {src.url}."
        )


def download(url: str, dest: Path, expected_md5: str, chunk: int = 1 << 20) -> Path:
    """Download ``url`` to ``dest`` through ``dest``.part, continuing a part left by an interrupted run (HTTP
    Range) and printing a progress line on stderr; ``dest`` appears only once the whole file has
    ``expected_md5``. An existing ``dest`` is returned as it is."""
    dest = Path(dest)
    if dest.exists():
        return dest
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as e:
        if not (e.code == 416 and have):  # 416: nothing after ``have``, the part is complete
            raise DataError(f"could not download {url} (HTTP {e.code}); {_OFFLINE_HINT}") from None
        response = None
    except (urllib.error.URLError, OSError) as e:
        raise DataError(f"could not download {url} ({e}); {_OFFLINE_HINT}") from None
    if response is not None:
        with response:
            if getattr(response, "status", None) != 206:  # the server sends everything: start afresh
                have = 0
            size = int(response.headers.get("Content-Length") or 0)
            total = f"{(have + size) / 1e6:.1f} MB" if size else "? MB"
            try:
                with open(part, "ab" if have else "wb") as f:
                    while block := response.read(chunk):
                        f.write(block)
                        have += len(block)
                        print(f"\r{dest.name}: {have / 1e6:.1f} of {total}", end="", file=sys.stderr, flush=True)
            except OSError as e:
                raise DataError(
                    f"download of {url} into {part} stopped after {have / 1e6:.1f} MB ({e}); run "
                    f"the same command again to continue it"
                ) from None
            finally:
                print(file=sys.stderr)
    got = md5(part)
    if got != expected_md5:
        part.unlink()
        raise DataError(
            f"{url} arrived with MD5 {got}, not the published {expected_md5}; the download was "
            f"deleted, run the same command again"
        )
    os.replace(part, dest)
    return dest


_OFFLINE_HINT = (
    "without internet, put the official archives in a folder and pass --archives DIR or set "
    "LLC_ARCHIVES (see data/README.md)"
)


def archives_dir(archives: Path | str | None = None) -> Path | None:
    """The folder of local archives: ``archives``, else $LLC_ARCHIVES, else None (download)."""
    from ..core.env import env

    folder = archives or env("LLC_ARCHIVES")
    return Path(folder) if folder else None


def fetch(name: str, archives: Path | str | None = None, cache: Path | str | None = None) -> Path:
    """The official archive of ``name``, its MD5 checked: from the folder of local archives (``archives``, else
    $LLC_ARCHIVES) when there is one, else downloaded into ``cache`` (and kept there for the next build)."""
    src, folder = _source(name), archives_dir(archives)
    if folder is not None:
        path = folder / src.archive
        if not path.is_file():
            raise DataError(
                f"{path} is missing: put the official {src.archive} ({src.url}) in {folder}, or "
                f"drop --archives / unset LLC_ARCHIVES to download it"
            )
    else:
        if cache is None:
            raise ValueError("fetch needs a cache folder when no archives folder is given")
        path = download(src.url, Path(cache) / src.archive, src.md5)
    check_md5(path, src)
    return path


# ------------------------------------------------------------------------------ the data folder


def verify_files(root: Path | None = None, names: Sequence[str] = tuple(SHA256)) -> dict[str, tuple[bool, str]]:
    """{file: (usable, note)} for the shipped files' names present in ``root``: usable when the bytes are the
    shipped file's or, for a rebuilt file, its arrays are (cifar10_test.npz's images: the same images up to
    JPEG error; see ``file_status``)."""
    root = Path(root or data_dir())
    return {n: file_status(root / n) for n in names if (root / n).exists()}


def verify_checksums(root: Path | None = None, names: Sequence[str] = tuple(SHA256)) -> dict[str, bool]:
    """{file: usable} for the shipped files' names present in ``root`` (see ``verify_files``)."""
    return {n: ok for n, (ok, _) in verify_files(root, names).items()}


def link_shared(shared: Path, root: Path | None = None) -> list[Path]:
    """Symlink every ``*.npz`` of ``shared`` into the data folder. Existing files are left alone; a dangling
    link (its target gone) is replaced."""
    root = Path(root or data_dir())
    root.mkdir(parents=True, exist_ok=True)
    made = []
    for src in sorted(Path(shared).glob("*.npz")):
        dst = root / src.name
        if dst.is_symlink() and not dst.exists():  # dangling: a link, nothing behind it
            dst.unlink()
        if not dst.exists():
            dst.symlink_to(src.resolve())
            made.append(dst)
    return made


def prepare_data(
    shared: Path | str | None = None, root: Path | None = None, archives: Path | str | None = None
) -> Path:
    """Make the data folder usable: link ``shared``/*.npz into it when that folder exists (naming any data file
    it lacks), otherwise build each missing data file from its official archive (from the folder ``archives``
    or $LLC_ARCHIVES when given, else downloaded into <root>/archives). First removes what interrupted builds
    left in the data folder (``files.sweep_leftovers``: ``.<file>.<pid>@<host>.tmp`` of writers that no longer
    run). Returns the data folder."""
    root = Path(root or data_dir())
    for p in sweep_leftovers(root):
        print(f"removed {p}, left by an interrupted build")
    if shared is not None and Path(shared).is_dir():
        for p in link_shared(Path(shared), root):
            print(f"linked {p} -> {p.resolve()}")
        for src in SOURCES.values():
            if not (root / src.file).exists():
                print(
                    f"{shared} has no {src.file}; build it from the official archive with `python -m llc_lib "
                    f"data --data-dir {root}` (no --shared; --archives DIR for local copies)"
                )
        return root

    for name, src in SOURCES.items():
        out = root / src.file
        if out.is_symlink() and not out.exists():  # dangling: a link, nothing behind it
            out.unlink()
        if out.exists():
            continue
        print(
            f"{out}: building it from the official {src.archive}"
            + (f" ({shared} not found)" if shared is not None else "")
        )
        archive = fetch(name, archives, root / "archives")
        print(f"{out}: {build(name, archive, out)}")
    return root

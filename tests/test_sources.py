"""llc_lib.graph.sources: archives in the official formats, made here from the shipped arrays, give the shipped arrays
back; a wrong archive, an existing output and arrays that differ are refused with one line."""

import dataclasses
import hashlib
import io
import struct
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from llc_lib.__main__ import main
from llc_lib.engine.data import DataError, data_dir
from llc_lib.graph import sources as S
from llc_lib.graph.sources import verify_checksums

from conftest import real_data_or_skip


def _shipped(file):
    real_data_or_skip()
    with np.load(data_dir() / file) as z:
        return {k: z[k] for k in z.files}


def _py2_pickle(obj) -> bytes:
    """``obj`` as Python 2's cPickle writes it (protocol 2), like the official CIFAR pickles: str as BINSTRING
    (bytes under encoding='bytes'), numpy arrays through numpy.core.multiarray._reconstruct. ``obj`` holds
    dicts, lists, bytes, ints and uint8 arrays."""
    out = [b"\x80\x02"]

    def s(b):
        return (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<i", len(b))) + b

    def i(n):
        return b"J" + struct.pack("<i", n)

    def emit(o):
        if isinstance(o, dict):
            out.append(b"}(")
            for k, v in o.items():
                emit(k), emit(v)
            out.append(b"u")
        elif isinstance(o, list):
            out.append(b"](")
            for v in o:
                emit(v)
            out.append(b"e")
        elif isinstance(o, bytes):
            out.append(s(o))
        elif isinstance(o, int):
            out.append(i(o))
        else:
            assert o.dtype == np.uint8
            out.append(
                b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n("
                + i(0)
                + b"t"
                + s(b"b")
                + b"\x87R("
                + i(1)
                + b"("
                + b"".join(i(d) for d in o.shape)
                + b"t"
                + b"cnumpy\ndtype\n"
                + s(b"u1")
                + i(0)
                + i(1)
                + b"\x87R("
                + i(3)
                + s(b"|")
                + b"NNN"
                + i(-1)
                + i(-1)
                + i(0)
                + b"tb"
                + b"\x89"
                + s(np.ascontiguousarray(o).tobytes())
                + b"tb"
            )

    emit(obj)
    out.append(b".")
    return b"".join(out)


def _rows(images):
    """NHWC uint8 images as official CIFAR rows: (N, 3072), the R, G and B planes one after the other."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), 3072)


def _targz(path, members):
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _assert_identical(arrays, shipped, skip=()):
    assert list(arrays) == list(shipped)
    for k in shipped:
        if k not in skip:
            assert arrays[k].dtype == shipped[k].dtype and arrays[k].shape == shipped[k].shape, k
            assert np.array_equal(arrays[k], shipped[k]), f"{k} differs"


# ---------------------------------------------------------------------------------------------- CIFAR-100


@pytest.fixture(scope="module")
def cifar100(tmp_path_factory):
    """(shipped arrays, official-format cifar-100-python.tar.gz): the 60,000 shipped images shuffled, 50,000 in
    train and 10,000 in test."""
    z = _shipped("cifar100.npz")
    perm = np.random.default_rng(0).permutation(60_000)
    rows, fine, coarse = _rows(z["images"][perm]), z["labels"][perm].tolist(), z["coarse_labels"][perm].tolist()

    def batch(sl, label):
        return _py2_pickle(
            {
                b"filenames": [b"f%d.png" % i for i in range(sl.start, sl.stop)],
                b"batch_label": label,
                b"fine_labels": fine[sl],
                b"coarse_labels": coarse[sl],
                b"data": rows[sl],
            }
        )

    meta = {
        b"fine_label_names": [n.encode() for n in z["label_names"]],
        b"coarse_label_names": [n.encode() for n in z["coarse_names"]],
    }
    path = _targz(
        tmp_path_factory.mktemp("c100") / "cifar-100-python.tar.gz",
        {
            "cifar-100-python/file.txt~": b"",
            "cifar-100-python/train": batch(slice(0, 50_000), b"training batch 1 of 1"),
            "cifar-100-python/test": batch(slice(50_000, 60_000), b"testing batch 1 of 1"),
            "cifar-100-python/meta": _py2_pickle(meta),
        },
    )
    return z, path


def test_cifar100_from_the_official_layout_is_the_shipped_file(cifar100):
    shipped, archive = cifar100
    arrays = S.cifar100_arrays(archive)
    _assert_identical(arrays, shipped)
    assert S.differing_arrays("cifar100.npz", arrays) == []


def test_array_hashes_are_the_shipped_files():
    for file, expected in S.ARRAY_SHA256.items():
        z = _shipped(file)
        assert {k: S.array_sha256(z[k]) for k in expected} == expected
    assert S.array_sha256(_shipped("cifar10_test.npz")["images"]) == S.CIFAR10_JPEG_IMAGES_SHA256


def test_an_archive_pickle_cannot_run_code(tmp_path):
    evil = b"\x80\x02cposix\nsystem\nU\x04true\x85R."  # os.system("true") when unpickled without restriction
    archive = _targz(
        tmp_path / "cifar-100-python.tar.gz", {f"cifar-100-python/{n}": evil for n in ("train", "test", "meta")}
    )
    with pytest.raises(DataError, match="refused global posix.system"):
        S.cifar100_arrays(archive)


# ---------------------------------------------------------------------------------------------- CIFAR-10


def _cifar10_archive(path, z, names=None):
    """cifar-10-python.tar.gz whose test batch holds the shipped images where their source_files put them
    (class/NNNN.jpg: the NNNN-th image of that class in test-batch order) and random filler elsewhere."""
    rng = np.random.default_rng(1)
    batch_labels = rng.permutation(np.repeat(np.arange(10), 1000))
    images = rng.integers(0, 256, (10_000, 32, 32, 3), dtype=np.uint8)
    where = [np.flatnonzero(batch_labels == c) for c in range(10)]
    index = {n: c for c, n in enumerate(z["label_names"])}
    for img, f in zip(z["images"], z["source_files"]):
        cls, num = f.split("/")
        images[where[index[cls]][int(num.removesuffix(".jpg"))]] = img
    names = list(z["label_names"]) if names is None else names
    test = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": batch_labels.tolist(),
        b"data": _rows(images),
        b"filenames": [b"img_%d.png" % i for i in range(10_000)],
    }
    meta = {b"num_cases_per_batch": 10_000, b"label_names": [n.encode() for n in names], b"num_vis": 3072}
    return _targz(
        path,
        {
            "cifar-10-batches-py/batches.meta": _py2_pickle(meta),
            "cifar-10-batches-py/test_batch": _py2_pickle(test),
            "cifar-10-batches-py/readme.html": b"<html></html>",
        },
    )


@pytest.fixture(scope="module")
def cifar10(tmp_path_factory):
    z = _shipped("cifar10_test.npz")
    return z, _cifar10_archive(tmp_path_factory.mktemp("c10") / "cifar-10-python.tar.gz", z)


def test_cifar10_from_the_official_layout_is_the_shipped_file(cifar10):
    shipped, archive = cifar10
    _assert_identical(S.cifar10_ood_arrays(archive), shipped)  # images too: the archive holds the shipped pixels


def test_build_writes_the_file_once_and_never_overwrites(cifar10, tmp_path):
    shipped, archive = cifar10
    out = tmp_path / "cifar10_test.npz"
    assert S.build("cifar10", archive, out) == "arrays identical to the shipped file's"
    _assert_identical(dict(np.load(out)), shipped)
    assert verify_checksums(tmp_path) == {"cifar10_test.npz": True}
    out.write_bytes(b"x")
    with pytest.raises(DataError, match=r"exists and is not overwritten") as e:
        S.build("cifar10", archive, out)
    assert "\n" not in str(e.value) and out.read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["cifar10_test.npz"]  # no temporary file left


def test_build_never_overwrites_a_file_that_appears_meanwhile(cifar10, tmp_path, monkeypatch):
    shipped, archive = cifar10
    out = tmp_path / "cifar10_test.npz"

    def convert(path):
        out.write_bytes(b"someone else's")
        return shipped

    monkeypatch.setitem(S.SOURCES, "cifar10", dataclasses.replace(S.SOURCES["cifar10"], convert=convert))
    with pytest.raises(DataError, match="appeared while it was being built"):
        S.build("cifar10", archive, out)
    assert out.read_bytes() == b"someone else's" and [p.name for p in tmp_path.iterdir()] == [out.name]


def test_arrays_that_differ_are_named_and_nothing_is_written(cifar10, tmp_path):
    shipped, _ = cifar10
    names = ["aeroplane"] + list(shipped["label_names"][1:])
    archive = _cifar10_archive(tmp_path / "cifar-10-python.tar.gz", shipped, names)
    with pytest.raises(DataError, match=r"array\(s\) label_names, source_files differ from the shipped") as e:
        S.build("cifar10", archive, tmp_path / "out" / "cifar10_test.npz")
    assert "\n" not in str(e.value) and not (tmp_path / "out").exists()


def test_official_cifar10_pixels_are_accepted_and_reported(tmp_path, monkeypatch, capsys):
    """A data folder with cifar100.npz as shipped, tinyimagenet_test32.npz rebuilt (other npz bytes, same arrays)
    and cifar10_test.npz with other pixels: `data` accepts all three and says what each is."""
    real_data_or_skip()
    (tmp_path / "cifar100.npz").symlink_to(data_dir() / "cifar100.npz")
    np.savez(tmp_path / "tinyimagenet_test32.npz", **_shipped("tinyimagenet_test32.npz"))
    z = _shipped("cifar10_test.npz")
    jpeg = z["images"].copy()
    for i, img in enumerate(z["images"]):  # the shipped pixels through JPEG again stand in for the official ones
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=75)
        jpeg[i] = np.asarray(Image.open(buf))
    assert not np.array_equal(jpeg, z["images"])
    z["images"] = jpeg
    np.savez_compressed(tmp_path / "cifar10_test.npz", **z)
    assert main(["data", "--data-dir", str(tmp_path), "--shared", str(tmp_path / "absent")]) == 0
    out = capsys.readouterr().out
    assert "cifar100.npz: sha256 OK" in out
    assert "tinyimagenet_test32.npz: arrays identical to the shipped file's; npz bytes differ" in out
    assert f"cifar10_test.npz: {S.OFFICIAL_PIXELS_NOTE}" in out
    for key, value, named in (
        ("images", np.roll(jpeg, 1, axis=0), "images"),  # other images, or in another order
        ("labels", np.roll(z["labels"], 1), "labels"),
    ):  # any other array that differs
        (tmp_path / "cifar10_test.npz").unlink()
        np.savez(tmp_path / "cifar10_test.npz", **{**z, key: value})
        assert main(["data", "--data-dir", str(tmp_path)]) == 2
        out = capsys.readouterr()
        assert f"cifar10_test.npz: sha256 MISMATCH (array(s) {named} differ" in out.out
        assert "differ from the shipped files" in out.err


# ---------------------------------------------------------------------------------------------- Tiny ImageNet


def _tiny_archive(path, z):
    """tiny-imagenet-200.zip with test/images/test_<n>.JPEG for n in 0..9999: the shipped 32x32 images upsampled
    2x by pixel repetition (BOX gives them back exactly), greyscale ones as greyscale images, all stored
    losslessly as PNG under the .JPEG names (Pillow detects the format by content); the others random JPEG
    filler, every fifth greyscale."""
    kept = dict(zip(z["source_files"], z["images"]))
    rng = np.random.default_rng(2)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("tiny-imagenet-200/wnids.txt", b"n01443537\n")
        zf.writestr("tiny-imagenet-200/val/images/val_0.JPEG", b"not read")
        for n in range(10_000):
            name, buf = f"test_{n}.JPEG", io.BytesIO()
            if name in kept:
                img = kept[name].repeat(2, 0).repeat(2, 1)
                grey = (img == img[..., :1]).all()
                Image.fromarray(img[..., 0] if grey else img).save(buf, "PNG", compress_level=1)
            else:
                shape = (64, 64) if n % 5 == 0 else (64, 64, 3)
                Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(buf, "JPEG", quality=75)
            zf.writestr(f"tiny-imagenet-200/test/images/{name}", buf.getvalue())
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    z = _shipped("tinyimagenet_test32.npz")
    return z, _tiny_archive(tmp_path_factory.mktemp("tiny") / "tiny-imagenet-200.zip", z)


def test_tinyimagenet_from_the_official_layout_is_the_shipped_file(tiny, tmp_path):
    shipped, archive = tiny
    assert sum((im == im[..., :1]).all() for im in shipped["images"]) > 50  # convert('RGB') is exercised
    out = tmp_path / "tinyimagenet_test32.npz"
    assert S.build("tinyimagenet", archive, out) == "arrays identical to the shipped file's"
    _assert_identical(dict(np.load(out)), shipped)


# ---------------------------------------------------------------------------------------------- archives


@pytest.mark.parametrize("name", sorted(S.SOURCES))
def test_a_corrupt_archive_is_one_clear_error(tmp_path, name):
    path = tmp_path / S.SOURCES[name].archive
    path.write_bytes(b"\x1f\x8b\x08\x00 truncated")
    with pytest.raises(DataError, match="could not be read .*not the official archive") as e:
        S.SOURCES[name].convert(path)
    assert "\n" not in str(e.value)


def _md5(data):
    return hashlib.md5(data).hexdigest()


def test_a_local_archive_with_the_wrong_md5_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    arch = tmp_path / "archives"
    arch.mkdir()
    (arch / "cifar-100-python.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(DataError, match=r"has MD5 .*, not eb9058c3a382ffc7106e4002c42a8d85") as e:
        S.fetch("cifar100", arch)
    assert "\n" not in str(e.value)
    monkeypatch.setenv("LLC_ARCHIVES", str(arch))  # the same through the environment and the CLI
    assert main(["data", "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not eb9058c3a382ffc7106e4002c42a8d85" in err
    assert (arch / "cifar-100-python.tar.gz").read_bytes() == b"not the archive"  # left as it was
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz is missing: put the official"):
        S.fetch("cifar10")


def test_cli_builds_a_missing_file_from_local_archives(cifar10, tmp_path, monkeypatch, capsys):
    shipped, archive = cifar10
    monkeypatch.delenv("LLC_ARCHIVES", raising=False)
    monkeypatch.setitem(S.SOURCES, "cifar10", dataclasses.replace(S.SOURCES["cifar10"], md5=S.md5(archive)))
    root = tmp_path / "data"
    root.mkdir()
    for f in ("cifar100.npz", "tinyimagenet_test32.npz"):
        (root / f).symlink_to(data_dir() / f)
    (root / "cifar10_test.npz").symlink_to(tmp_path / "gone.npz")  # dangling: replaced
    assert main(["data", "--data-dir", str(root), "--archives", str(archive.parent)]) == 0
    out = capsys.readouterr().out
    assert "building it from the official cifar-10-python.tar.gz" in out
    assert "cifar10_test.npz: arrays identical to the shipped file's" in out
    _assert_identical(dict(np.load(root / "cifar10_test.npz")), shipped)


class _Server:
    """An HTTP server on 127.0.0.1 serving ``payload`` at every path, honouring 'Range: bytes=N-'."""

    def __init__(self, payload):
        self.ranges = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                start = int(self.headers["Range"][len("bytes=") : -1]) if self.headers["Range"] else 0
                outer.ranges.append(self.headers["Range"])
                body = payload[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/archive.tar.gz"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = _Server(np.random.default_rng(3).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes())
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def test_download_is_verified_atomic_and_resumable(server, tmp_path, capsys):
    payload = np.random.default_rng(3).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    dest = tmp_path / "a.tar.gz"
    with pytest.raises(DataError, match="MD5 .* not the published 0{32}; the download was deleted"):
        S.download(server.url, dest, "0" * 32)
    assert not list(tmp_path.iterdir())
    (tmp_path / "a.tar.gz.part").write_bytes(payload[:1_000_000])  # left by an interrupted run
    assert S.download(server.url, dest, _md5(payload)).read_bytes() == payload
    assert server.ranges[-1] == "bytes=1000000-" and [p.name for p in tmp_path.iterdir()] == ["a.tar.gz"]
    assert "a.tar.gz: 3.0 of 3.0 MB" in capsys.readouterr().err
    with pytest.raises(DataError, match="could not download .*--archives DIR or set LLC_ARCHIVES"):
        S.download("http://127.0.0.1:1/x.tar.gz", tmp_path / "x.tar.gz", "0" * 32)


def test_fetch_downloads_into_the_cache_without_an_archives_folder(server, tmp_path, monkeypatch):
    payload = np.random.default_rng(3).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    monkeypatch.delenv("LLC_ARCHIVES", raising=False)
    monkeypatch.setitem(
        S.SOURCES, "cifar10", dataclasses.replace(S.SOURCES["cifar10"], url=server.url, md5=_md5(payload))
    )
    path = S.fetch("cifar10", cache=tmp_path / "cache")
    assert path == tmp_path / "cache" / "cifar-10-python.tar.gz" and path.read_bytes() == payload
    assert S.fetch("cifar10", cache=tmp_path / "cache") == path and len(server.ranges) == 1  # not fetched twice


# ------------------------------------------------------------------- malformed archives, as the library sees them


def _small_batch(labels=(0, 1)):
    return _py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": list(labels), b"coarse_labels": [0, 1]})


def _cifar100_with(path, train):
    """cifar-100-python.tar.gz with small test and meta members and ``train``: bytes (a regular member), "link"
    (a symbolic link out of the archive) or "folder"."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("cifar-100-python/train")
        if train == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
            tar.addfile(info)
        elif train == "folder":
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        else:
            info.size = len(train)
            tar.addfile(info, io.BytesIO(train))
        for name, data in (("test", _small_batch()), ("meta", _py2_pickle({b"fine_label_names": [b"a", b"b"]}))):
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    "train,message",
    [
        ("link", "cifar-100-python/train is a link, not a file"),
        ("folder", "cifar-100-python/train is a folder, not a file"),
        (b"\x80\x02K\x05.", "cifar-100-python/train holds a Python int, not the dict of a CIFAR pickle"),  # the int 5
        (
            b"\x80\x02cnumpy\ndtype\nU\x03xyzK\x00K\x01\x87R.",  # numpy.dtype('xyz', 0, 1)
            "cifar-100-python/train is not a readable CIFAR pickle (TypeError",
        ),
        (b"\x80\x02}U\x04data", "cifar-100-python/train is not a readable CIFAR pickle"),  # cut short
        (_small_batch(labels=(b"0", b"1")), "cifar-100-python/train: the labels must be a list of integers, got |S1"),
    ],
)
def test_a_malformed_archive_member_is_one_data_error_naming_it(tmp_path, train, message):
    """The converters called as a library (where no MD5 check comes first): a member that is a link or a
    folder, a pickle that is malformed or not a dict, or labels that are strings each raise one DataError
    naming the member, never another exception and never a silent conversion (numpy reads b'0' as 0)."""
    archive = _cifar100_with(tmp_path / "cifar-100-python.tar.gz", train)
    with pytest.raises(DataError) as e:
        S.cifar100_arrays(archive)
    assert f"{archive}:{message}" in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_labels_of_cifar10_must_be_integers(tmp_path):
    test = _py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": [b"cat", b"dog"]})
    archive = _targz(
        tmp_path / "cifar-10-python.tar.gz",
        {
            "cifar-10-batches-py/test_batch": test,
            "cifar-10-batches-py/batches.meta": _py2_pickle({b"label_names": [b"cat", b"dog"]}),
        },
    )
    with pytest.raises(DataError, match=r"test_batch: the labels must be a list of integers, got \|S3 \(2,\)"):
        S.cifar10_ood_arrays(archive)


def test_an_image_pillow_refuses_is_one_data_error_naming_the_member(tmp_path):
    """A Tiny ImageNet test image Pillow refuses with an error that is no OSError (here a decompression bomb:
    a PNG header of 20000 x 20000 pixels) is one DataError naming the member."""
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b"")
    )
    path = tmp_path / "tiny-imagenet-200.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for n in range(10_000):
            zf.writestr(f"tiny-imagenet-200/test/images/test_{n}.JPEG", bomb)
    with pytest.raises(
        DataError,
        match=r"tiny-imagenet-200/test/images/test_\d+\.JPEG is not an image Pillow can "
        r"read \(DecompressionBombError",
    ) as e:
        S.tinyimagenet_ood_arrays(path)
    assert "\n" not in str(e.value)

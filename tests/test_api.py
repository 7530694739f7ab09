"""The public API (llc_lib.load, LLCModel, HammingIndex): codes computed the way the studies compute them, the
packed layout faiss reads, search results equal to faiss's, and one line for every bad input."""

import numpy as np
import pytest
import torch

import llc_lib
from llc_lib import api
from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.inference import class_codes, outputs
from llc_lib.graph.selection import DataSel
from llc_lib.graph.spec import Arch, Spec
from llc_lib.graph.workspace import Workspace
from llc_lib.kernels.decode import ed_decode, hamming, mhd_decode, pack

from conftest import synthetic_dataset

LLC = TrainConfig(mode="llc", bits=12, nested=(6, 12), epochs=1, batch_size=16, lr=0.05)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny LLC Phase 1 model (width 4, 12 bits, 5 classes) fitted on random images, and its data."""
    root = tmp_path_factory.mktemp("runs")
    ws = Workspace(root, torch.device("cpu"), progress=False)
    data = synthetic_dataset(n_per_class=12)
    ws.store.preload((DataSel(), "train"), data)
    spec = Spec(LLC, Arch(width=4), DataSel())
    net = ws.fit(spec)
    return ws.ckpt_path(spec), net, data


def test_codes_are_the_studies_codes_in_faiss_layout(trained):
    path, net, data = trained
    model = llc_lib.load(path)
    images = data.images.numpy()
    codes, z = model.encode(images, bits=10, real=True)
    proj = outputs(net, data, torch.device("cpu"))["proj"][:, :10]
    np.testing.assert_array_equal(z, proj)
    assert codes.dtype == np.uint8 and codes.shape == (len(images), 2)
    np.testing.assert_array_equal(api.unpack_codes(codes, 10), proj > 0)
    # bit j is bit j % 8 of byte j // 8 (every bit, as numpy's little-endian unpacking reads it); padding is zero
    np.testing.assert_array_equal(np.unpackbits(codes, axis=1, bitorder="little")[:, :10], proj > 0)
    assert ((codes[:, 1] >> 2) == 0).all()
    np.testing.assert_array_equal((codes[:, 0] >> 3) & 1, (proj[:, 3] > 0).astype(np.uint8))


def test_classify_and_ood_are_mhd_and_ed(trained):
    path, net, data = trained
    model = llc_lib.load(path)
    images = data.images.numpy()
    proj = outputs(net, data, torch.device("cpu"))["proj"][:, :6]
    cls = class_codes(net)[:, :6]
    mhd, ed = mhd_decode(proj, cls), ed_decode(proj, cls)
    out = model.classify(images, bits=6)
    np.testing.assert_array_equal(out["label"], mhd["pred"])
    np.testing.assert_array_equal(out["distance"], mhd["dist"])
    np.testing.assert_array_equal(out["ties"], mhd["n_ties"])
    ood = model.is_ood(codes=model.encode(images, bits=6), bits=6)
    np.testing.assert_array_equal(ood["ood"], ed["pred"] < 0)
    np.testing.assert_array_equal(ood["label"], ed["pred"])
    assert ((ood["distance"] == 0) == ~ood["ood"]).all()  # the graded score is 0 exactly where a code matches
    # the class codes themselves are in distribution, each decoded to its own class (class 0 included)
    own = model.is_ood(codes=model.class_codes(6), bits=6)
    unique = np.unique(cls, axis=0, return_index=True)[1]
    assert not own["ood"][unique].any() and (own["label"][unique] == unique).all() and (own["distance"] == 0).all()
    # a real nearest-class distance, recomputed by hand
    d = hamming(pack(proj), pack(cls)).min(1)
    np.testing.assert_array_equal(ood["distance"], d)


def _random_codes(n, bits, seed):
    rng = np.random.default_rng(seed)
    return api.pack_codes(rng.random((n, bits)) < 0.5)


@pytest.mark.parametrize("bits", [20, 64])
def test_the_index_returns_what_faiss_returns(bits, tmp_path):
    faiss = pytest.importorskip("faiss")
    db, q = _random_codes(5000, bits, 0), _random_codes(50, bits, 1)
    mine = api.HammingIndex(bits, backend="numpy")
    mine.add(db[:3000])
    assert mine.search(q, 1)[1].max() < 3000  # searched once before the second add: that one must be seen
    mine.add(db[3000:])
    ref = faiss.IndexBinaryFlat(8 * db.shape[1])
    ref.add(db)
    top = 25
    d, i = mine.search(q, top)
    fd, fi = ref.search(q, top)
    np.testing.assert_array_equal(d, fd)
    for row in range(len(q)):  # the same ids at every distance that lies wholly inside the top 25
        inside = d[row] < d[row, -1]
        assert set(i[row][inside]) == set(fi[row][inside])
    # the ids are nearest first, ties in the order added, and their distances are right
    full = hamming(*(np.pad(a, ((0, 0), (0, -a.shape[1] % 8))).view(np.uint64) for a in (q, db)))
    np.testing.assert_array_equal(np.take_along_axis(full, i, 1), d)
    assert all((np.diff(i[r][d[r] == v]) > 0).all() for r in range(len(q)) for v in np.unique(d[r]))
    # the faiss backend gives the faiss results; a saved index loads with the same codes
    both = api.HammingIndex(bits, backend="faiss")
    both.add(db[:3000])
    both.search(q, 1)
    both.add(db[3000:])
    np.testing.assert_array_equal(both.search(q, top)[0], fd)
    mine.save(tmp_path / "index.npz")
    again = api.HammingIndex.load(tmp_path / "index.npz", backend="numpy")
    assert again.bits == bits and len(again) == 5000 and again.memory_bytes == 5000 * -(-bits // 8)
    np.testing.assert_array_equal(again.search(q, top)[1], i)


def test_bad_inputs_get_one_line(trained, tmp_path):
    path, _, data = trained
    model = llc_lib.load(path)
    images = data.images.numpy()
    cases = [
        (lambda: model.encode(images.astype(np.float32)), "must be uint8"),
        (lambda: model.encode(images[..., :1]), "grayscale"),
        (lambda: model.encode(np.concatenate([images, images[..., :1]], -1)), "RGBA"),
        (lambda: model.encode(images[:, :16, :16]), "takes 32x32 images"),
        (lambda: model.encode(images[..., 0]), "no channel axis"),
        (lambda: model.encode(images, bits=13), "bits must be an integer in 1..12"),
        (lambda: model.classify(codes=model.encode(images, bits=12), bits=6), "codes of 16 bits"),
        (lambda: api.HammingIndex(20).search(_random_codes(2, 20, 0), 1), "top_k must be an integer in 1..0"),
        (lambda: api.HammingIndex(20).add(_random_codes(5, 24, 0) | 0xF0), "bits set beyond bit 20"),
        (lambda: model.classify(codes=model.encode(images, bits=12), bits=11), "bits set beyond bit 11"),
    ]
    for call, message in cases:
        with pytest.raises(api.InputError, match=message) as e:
            call()
        assert "\n" not in str(e.value)
    # files: not a model of this project, a real-valued model, a folder without images, a corrupt image
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(api.InputError, match="could not be read safely"):
        llc_lib.load(junk)
    torch.save({"model": {}, "meta": {"head": "real"}, "spec": {}}, tmp_path / "real.pt")
    with pytest.raises(api.InputError, match="not an LLC model"):
        llc_lib.load(tmp_path / "real.pt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(api.InputError, match="holds no image files"):
        api.read_images(tmp_path / "empty")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(api.InputError, match="bad.png is not a readable image"):
        api.read_images([tmp_path / "bad.png"])


def test_read_images_resizes_and_refuses_other_modes_unless_asked(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(api.InputError, match="b.png is a L image, not RGB"):
        api.read_images(tmp_path)
    images, names = api.read_images(tmp_path, size=32, convert=True)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8 and names[0].endswith("a.png")
    assert (images[1, ..., 0] == images[1, ..., 2]).all()  # a grayscale image becomes equal RGB channels


def test_the_commands_encode_search_and_classify(trained, tmp_path, capsys):
    """``llc encode | search | classify`` end to end on a folder of images and a checkpoint path, with the same
    results as the API; each bad input ends with exit code 2 and one line."""
    import json

    from PIL import Image

    from llc_lib.__main__ import main

    path, _, data = trained
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, image in enumerate(data.images.numpy()[:12]):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    np.save(tmp_path / "queries.npy", data.images.numpy()[12:15])
    assert main(["encode", str(folder), "--model", str(path), "--bits", "10", "--out", str(tmp_path / "db.npz")]) == 0
    assert (
        main(
            [
                "encode",
                str(tmp_path / "queries.npy"),
                "--model",
                str(path),
                "--bits",
                "10",
                "--out",
                str(tmp_path / "q.npz"),
            ]
        )
        == 0
    )
    db, q = api.load_codes(tmp_path / "db.npz"), api.load_codes(tmp_path / "q.npz")
    model = llc_lib.load(path)
    np.testing.assert_array_equal(db["codes"], model.encode(data.images.numpy()[:12], 10))
    assert db["bits"] == 10 and db["names"][0].endswith("00.png") and q["names"][0] == "queries.npy[0]"
    assert (
        main(
            [
                "search",
                str(tmp_path / "db.npz"),
                str(tmp_path / "q.npz"),
                "--top-k",
                "4",
                "--out",
                str(tmp_path / "hits.json"),
            ]
        )
        == 0
    )
    hits = json.loads((tmp_path / "hits.json").read_text())
    index = api.HammingIndex(10, backend="numpy")
    index.add(db["codes"])
    d, i = index.search(q["codes"], 4)
    assert [[h["distance"] for h in r["hits"]] for r in hits] == d.tolist()
    assert main(["classify", str(tmp_path / "db.npz"), "--model", str(path), "--out", str(tmp_path / "c.json")]) == 0
    rows = json.loads((tmp_path / "c.json").read_text())
    assert [r["class"] for r in rows] == model.classify(codes=db["codes"], bits=10)["label"].tolist()
    assert [r["ood"] for r in rows] == model.is_ood(codes=db["codes"], bits=10)["ood"].tolist()
    assert "match no class code exactly" in capsys.readouterr().out
    # bad inputs: codes of another length, an empty folder, a file that is not an LLC model
    main(
        [
            "encode",
            str(tmp_path / "queries.npy"),
            "--model",
            str(path),
            "--bits",
            "12",
            "--out",
            str(tmp_path / "q12.npz"),
        ]
    )
    (tmp_path / "empty").mkdir()
    torch.save({"model": {}, "meta": {"head": "real"}, "spec": {}}, tmp_path / "real.pt")
    for argv, message in (
        (["search", str(tmp_path / "db.npz"), str(tmp_path / "q12.npz")], "12-bit codes"),
        (["encode", str(tmp_path / "empty"), "--model", str(path), "--out", str(tmp_path / "x.npz")], "no image files"),
        (["classify", str(folder), "--model", str(tmp_path / "real.pt")], "not an LLC model"),
        (["search", str(tmp_path / "queries.npy"), str(tmp_path / "q.npz")], "not a codes file"),
    ):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_train_codes_on_a_tiny_image_folder_end_to_end(tmp_path, capsys):
    """``llc train-codes`` on a generated ImageFolder (3 classes, different colours): a model the API loads,
    with its class names, and a model card whose held-out scores are the model's own on the held-out images."""
    import json

    from PIL import Image

    from llc_lib.__main__ import main
    from llc_lib.train_codes import read_labelled, split

    rng = np.random.default_rng(0)
    # close colours under heavy noise: two epochs do not separate them, so scores on the held-out images differ
    # from those on the training images and the card must have been computed on the held-out ones
    for c, colour in enumerate(((140, 110, 110), (110, 140, 110), (110, 110, 140))):
        (tmp_path / "data" / f"class{c}").mkdir(parents=True)
        for i in range(10):
            image = np.clip(rng.normal(colour, 90, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(tmp_path / "data" / f"class{c}" / f"{i}.png")
    argv = ["train-codes", str(tmp_path / "data"), "--out", str(tmp_path / "codes"), "--bits", "6", "--epochs", "2"]
    assert main(argv + ["--width", "4", "--batch-size", "8", "--holdout", "0.2"]) == 0
    card = json.loads((tmp_path / "codes" / "model_card.json").read_text())
    assert card["classes"] == ["class0", "class1", "class2"] and card["bits"] == 6
    assert card["images"] == {"train": 24, "held_out": 6} and card["recipe"]["phase2"]["epochs"] == 4
    model = llc_lib.load(tmp_path / "codes" / "model.pt")
    assert model.class_names == ("class0", "class1", "class2") and model.max_bits == 6
    seen, held = split(read_labelled(tmp_path / "data"), 0.2, 0)
    mhd = {
        n: (model.classify(d.images.numpy(), bits=6)["label"] == d.labels.numpy()).mean()
        for n, d in (("held", held), ("seen", seen))
    }
    assert card["held_out"]["mhd_acc"] == pytest.approx(mhd["held"])
    assert mhd["held"] != pytest.approx(mhd["seen"]), mhd  # the data tells the two splits apart
    assert "held-out images" in capsys.readouterr().out
    # a folder with a single class, and an npz without labels, get one line
    (tmp_path / "one" / "a").mkdir(parents=True)
    np.savez(tmp_path / "x.npz", images=np.zeros((4, 32, 32, 3), np.uint8))
    for data, message in (
        (tmp_path / "one", "at least two"),
        (tmp_path / "x.npz", "needs arrays 'images' and 'labels'"),
    ):
        capsys.readouterr()
        assert main(["train-codes", str(data), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_a_profile_without_committed_weights_gets_one_line(monkeypatch, tmp_path):
    """Outside a checkout (an installed package run elsewhere) the committed weights are not found: one line
    that says where they are."""
    monkeypatch.setattr(api, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(api, "home", lambda: tmp_path)
    with pytest.raises(api.InputError, match="in the project's repository") as e:
        llc_lib.load("cpu")
    assert "\n" not in str(e.value)
    with pytest.raises(api.InputError, match="no committed weights for 'gpu'"):
        llc_lib.load("gpu")

"""Committed weights: exported without optimiser state, installed verified, and loaded by the run graph
without training; the committed weights/cpu names every model the cpu profile's notebooks use. A corrupt
source, a corrupt or edited committed file and a malformed or escaping MANIFEST.json are refused with
CheckpointError before anything is written."""

import json
import re
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.ckpt import CheckpointError, read_checkpoint, state_digest, verify_weights
from llc_lib.graph import weights
from llc_lib.graph.selection import DataSel
from llc_lib.graph.spec import Arch, CodebookSpec, Spec
from llc_lib.graph.workspace import Workspace

from conftest import synthetic_dataset

REPO = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")
SEL, ARCH = DataSel(), Arch(width=4)
LLC = TrainConfig(mode="llc", bits=6, nested=(3, 6), epochs=1, batch_size=16, lr=0.05)
P2 = LLC.replace(mode="instance", nested=(), lr=0.01)


def _ws(root, **kw):
    ws = Workspace(root, CPU, progress=False, **kw)
    ws.store.preload((SEL, "train"), synthetic_dataset())
    return ws


@pytest.fixture()
def trained(tmp_path):
    p1 = Spec(LLC, ARCH, SEL, label="llc")
    p2 = Spec(P2, ARCH, SEL, "phase1", p1, CodebookSpec("learnt", 6, p1), label="instance")
    ws = _ws(tmp_path / "runs")
    ws.fit(p2)
    return ws, p2


def test_exported_weights_load_without_training_and_give_the_same_model(trained, tmp_path, monkeypatch):
    ws, p2 = trained
    m = weights.export([p2], ws, tmp_path / "weights")
    assert set(m["files"]) == {f"ckpt/{p2.parent.name}.pt", f"ckpt/{p2.parent.name}.codebook.npz", f"ckpt/{p2.name}.pt"}
    ck = read_checkpoint(tmp_path / "weights" / "ckpt" / f"{p2.name}.pt")
    assert "optimizer" not in ck and "scheduler" not in ck and ck["key"] == p2.key
    weights.install(tmp_path / "weights", tmp_path / "fresh")
    fresh = _ws(tmp_path / "fresh", train=False)  # evaluation only: a missing model would raise, not train
    assert fresh.weights_digest(p2) == ws.weights_digest(p2)
    assert weights.install(tmp_path / "weights", tmp_path / "fresh") == []  # already there: nothing copied

    def resave(*a, **k):  # torch.save's bytes differ between processes: a re-export must copy, not save again
        raise AssertionError("an unchanged checkpoint was saved again")

    monkeypatch.setattr(weights, "save_atomic", resave)
    assert weights.export([p2], ws, tmp_path / "weights")["files"] == m["files"]


def test_a_reexport_keeps_the_codebook_file_its_kept_checkpoint_recorded(trained, tmp_path):
    """The same codebook in a file of other bytes (here: written without a field added since) must not
    replace the committed file: the kept Phase 2 checkpoint recorded that file's content hash as its input.
    Another codebook does replace it."""
    import numpy as np

    from llc_lib.engine import codebook_file as codebook

    ws, p2 = trained
    weights.export([p2], ws, tmp_path / "weights")
    book = ws.ckpt_path(p2.parent).with_name(f"{p2.parent.name}.codebook.npz")
    committed = (tmp_path / "weights" / "ckpt" / book.name).read_bytes()
    arrays = {
        k: np.asarray(v) for k, v in codebook.load_codebook(book).items() if k not in ("content_sha256", "book_key")
    }
    np.savez(book, content_sha256=np.array(codebook._content_sha256(arrays)), **arrays)
    assert book.read_bytes() != committed
    weights.export([p2], ws, tmp_path / "weights")
    assert (tmp_path / "weights" / "ckpt" / book.name).read_bytes() == committed
    weights.install(tmp_path / "weights", tmp_path / "fresh")
    assert _ws(tmp_path / "fresh", train=False).weights_digest(p2) == ws.weights_digest(p2)  # its inputs match
    arrays["reals"] = -arrays["reals"]
    arrays["codes"] = -arrays["codes"]
    np.savez(book, content_sha256=np.array(codebook._content_sha256(arrays)), **arrays)
    weights.export([p2], ws, tmp_path / "weights")
    assert (tmp_path / "weights" / "ckpt" / book.name).read_bytes() == book.read_bytes()  # another codebook


def test_install_refuses_a_changed_file_and_never_overwrites(trained, tmp_path):
    ws, p2 = trained
    weights.export([p2], ws, tmp_path / "weights")
    target = tmp_path / "weights" / "ckpt" / f"{p2.name}.pt"
    good = target.read_bytes()
    target.write_bytes(good[:-20] + bytes(20))
    with pytest.raises(CheckpointError, match="differs from MANIFEST.json"):
        weights.install(tmp_path / "weights", tmp_path / "fresh")
    target.write_bytes(good)
    other = tmp_path / "fresh" / "ckpt" / f"{p2.name}.pt"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"someone else's run")
    with pytest.raises(CheckpointError, match="exists with other content"):
        weights.install(tmp_path / "weights", tmp_path / "fresh")
    assert other.read_bytes() == b"someone else's run"


def test_export_refuses_over_budget_and_unfinished_runs(trained, tmp_path, monkeypatch):
    ws, p2 = trained
    monkeypatch.setattr(weights, "MAX_BYTES", 1000)
    with pytest.raises(CheckpointError, match="over the"):
        weights.export([p2], ws, tmp_path / "weights")
    assert not (tmp_path / "weights").exists() and not (tmp_path / "weights.new").exists()
    with pytest.raises(CheckpointError, match="missing or unfinished"):
        weights.export([Spec(LLC.replace(lr=0.06), ARCH, SEL)], ws, tmp_path / "weights")


def test_committed_cpu_weights_cover_the_cpu_profile_within_budget():
    """Re-export (`python -m llc_lib weights --export`, after `make reproduce PROFILE=cpu`) when a recipe
    changes: every model the cpu notebooks use must be in weights/cpu."""
    from llc_lib.config.profiles import get_profile
    from llc_lib.manifest import notebook_specs

    manifest = json.loads((REPO / "weights" / "cpu" / "MANIFEST.json").read_text())
    names = {
        f"ckpt/{s.name}.pt"
        for specs in notebook_specs(get_profile("cpu"), 0).values()
        for top in specs
        for s in top.ancestors() + [top]
    }
    assert names <= set(manifest["files"]), sorted(names - set(manifest["files"]))
    assert manifest["bytes"] <= weights.MAX_BYTES
    assert sum((REPO / "weights" / "cpu" / f).stat().st_size for f in manifest["files"]) == manifest["bytes"]


def _flip(path: Path) -> None:
    """Flip one bit in the middle of the largest record of a zip file (a checkpoint or a codebook .npz), as bit
    rot on disk does: the file still opens, its content no longer matches the hash stored with it."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        rec = max(z.infolist(), key=lambda i: i.file_size)
    name_len, extra_len = struct.unpack("<HH", data[rec.header_offset + 26 : rec.header_offset + 30])
    data[rec.header_offset + 30 + name_len + extra_len + rec.file_size // 2] ^= 0x40
    path.write_bytes(data)


def _tree(folder: Path) -> dict:
    """{relative path: bytes} of every file under ``folder``."""
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


def test_export_refuses_a_source_with_flipped_bytes_before_it_writes_anything(trained, tmp_path):
    """The source is named (not a staged copy of it), the exported folder keeps every byte, and neither a new
    folder nor a staging folder is left behind."""
    ws, p2 = trained
    folder = tmp_path / "weights"
    weights.export([p2], ws, folder)
    before = _tree(folder)
    for src in (ws.ckpt_path(p2.parent), ws.ckpt_path(p2.parent).with_suffix(".codebook.npz")):
        good = src.read_bytes()
        _flip(src)
        if src.suffix == ".pt":
            with pytest.raises(CheckpointError, match="is corrupt"):
                verify_weights(read_checkpoint(src), src)  # the flip left a readable checkpoint
        for target in (folder, tmp_path / "other"):
            with pytest.raises(CheckpointError, match=re.escape(str(src)) + ".*Nothing was exported"):
                weights.export([p2], ws, target)
            assert not target.with_name(target.name + ".new").exists()
        assert _tree(folder) == before and not (tmp_path / "other").exists()
        src.write_bytes(good)


def test_a_reexport_replaces_a_committed_checkpoint_whose_bytes_rotted(trained, tmp_path):
    """A committed checkpoint that still records the same weights hash as the source, but whose bytes changed,
    is not kept: the re-export writes the source's weights, and they install and load."""
    ws, p2 = trained
    folder = tmp_path / "weights"
    weights.export([p2], ws, folder)
    rotted = folder / "ckpt" / f"{p2.name}.pt"
    _flip(rotted)
    m = weights.export([p2], ws, folder)
    verify_weights(read_checkpoint(rotted), rotted)
    assert weights.sha256(rotted) == m["files"][f"ckpt/{p2.name}.pt"]
    weights.install(folder, tmp_path / "fresh")
    assert _ws(tmp_path / "fresh", train=False).weights_digest(p2) == ws.weights_digest(p2)


@pytest.mark.parametrize("fault", ["flipped", "flipped, manifest rehashed", "taken"])
def test_install_checks_every_file_before_it_copies_any(trained, tmp_path, fault):
    """The fault is in the last file of the manifest: nothing of the files before it is copied."""
    ws, p2 = trained
    folder, fresh = tmp_path / "weights", tmp_path / "fresh"
    m = weights.export([p2], ws, folder)
    last = sorted(m["files"])[-1]
    assert last.endswith(".pt")
    if fault == "taken":
        (fresh / last).parent.mkdir(parents=True)
        (fresh / last).write_bytes(b"someone else's run")
    else:
        _flip(folder / last)
    if fault == "flipped, manifest rehashed":
        m["files"][last] = weights.sha256(folder / last)
        (folder / "MANIFEST.json").write_text(json.dumps(m))
    match = {
        "flipped": "differs from MANIFEST.json",
        "flipped, manifest rehashed": "is corrupt.*MANIFEST.json",
        "taken": "exists with other content",
    }[fault]
    with pytest.raises(CheckpointError, match=re.escape(str(fresh if fault == "taken" else folder)) + ".*" + match):
        weights.install(folder, fresh)
    assert [f for f in fresh.rglob("*") if f.is_file()] == ([fresh / last] if fault == "taken" else [])


def test_install_refuses_manifest_entries_outside_the_weights_or_the_runs_folder(trained, tmp_path):
    """``..`` that stays inside the weights folder but leaves the runs folder, an absolute path, and a link in
    the weights folder to a file outside it: each refused, nothing written."""
    ws, p2 = trained
    folder, runs = tmp_path / "w", tmp_path / "deep" / "runs"
    m = weights.export([p2], ws, folder)
    outside = tmp_path / "outside.pt"
    outside.write_bytes(b"not a committed file")
    (folder / "ckpt" / "link.pt").symlink_to(outside)
    rel = f"ckpt/{p2.name}.pt"
    for entry, digest in (
        (f"../w/{rel}", m["files"][rel]),
        (str(folder / rel), m["files"][rel]),
        ("ckpt/link.pt", weights.sha256(outside)),
    ):
        (folder / "MANIFEST.json").write_text(json.dumps({"files": {**m["files"], entry: digest}}))
        with pytest.raises(CheckpointError, match=re.escape(repr(entry)) + ".*not a path inside"):
            weights.install(folder, runs)
        assert not (tmp_path / "deep").exists()


def test_install_never_puts_a_copy_that_differs_from_the_manifest_in_place(trained, tmp_path, monkeypatch):
    """A file that changes between the check and the copy: the copy is removed, nothing is renamed into place."""
    ws, p2 = trained
    weights.export([p2], ws, tmp_path / "weights")
    monkeypatch.setattr(weights.shutil, "copyfile", lambda src, dst: Path(dst).write_bytes(b"changed"))
    with pytest.raises(CheckpointError, match="changed while it was installed"):
        weights.install(tmp_path / "weights", tmp_path / "fresh")
    assert [f for f in (tmp_path / "fresh").rglob("*") if f.is_file()] == []


MALFORMED = {
    "not JSON": "{files:",
    "files not a dict": '{"files": 5}',
    "a list": "[]",
    "no files": '{"files": {}}',
    "bad digest": '{"files": {"ckpt/a.pt": "abc"}}',
    "digest not a string": '{"files": {"ckpt/a.pt": 5}}',
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_install_refuses_a_malformed_manifest_in_one_line_naming_it(tmp_path, text):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "MANIFEST.json").write_text(text)
    with pytest.raises(CheckpointError, match=re.escape(str(folder / "MANIFEST.json"))) as e:
        weights.install(folder, tmp_path / "runs")
    assert "\n" not in str(e.value) and "git checkout" in str(e.value)
    assert not (tmp_path / "runs").exists()


def test_cli_weights_reports_a_malformed_manifest_as_one_error_line(tmp_path, monkeypatch, capsys):
    from llc_lib.__main__ import main
    from llc_lib.core import paths

    (tmp_path / "weights" / "cpu").mkdir(parents=True)
    (tmp_path / "weights" / "cpu" / "MANIFEST.json").write_text('{"files": 5}')
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "llc_lib"\n')  # a checkout (paths.is_checkout)
    (tmp_path / ".git").mkdir()
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    assert main(["weights", "--profile", "cpu", "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "MANIFEST.json" in err


def test_install_vouches_for_weights_by_the_manifest_not_by_the_hash_they_store(trained, tmp_path):
    """An edited tensor (or codebook) whose own content hash was computed again passes the file's own check,
    which only catches bit rot; MANIFEST.json, tracked by git, is what refuses it."""
    import numpy as np

    from llc_lib.engine import codebook_file as codebook

    ws, p2 = trained
    folder = tmp_path / "weights"
    weights.export([p2], ws, folder)
    ck_path = folder / "ckpt" / f"{p2.name}.pt"
    book_path = folder / "ckpt" / f"{p2.parent.name}.codebook.npz"
    good = {p: p.read_bytes() for p in (ck_path, book_path)}
    ck = read_checkpoint(ck_path)
    name = next(iter(ck["model"]))
    ck["model"][name] = ck["model"][name] + 1
    ck["weights_sha256"] = state_digest(ck["model"])
    torch.save(ck, ck_path)
    verify_weights(read_checkpoint(ck_path), ck_path)
    arrays = {k: np.asarray(v) for k, v in codebook.load_codebook(book_path).items() if k != "content_sha256"}
    arrays["reals"], arrays["codes"] = -arrays["reals"], -arrays["codes"]
    for edited in (ck_path, book_path):
        for p, b in good.items():
            if p != edited:
                p.write_bytes(b)
        if edited == book_path:
            np.savez(book_path, content_sha256=np.array(codebook._content_sha256(arrays)), **arrays)
            codebook.load_codebook(book_path)
        with pytest.raises(CheckpointError, match=re.escape(str(edited)) + " is missing or differs from MANIFEST"):
            weights.install(folder, tmp_path / "fresh")
        assert not (tmp_path / "fresh").exists()


def test_the_manifest_names_models_by_role_and_the_api_loads_them_verified(trained, tmp_path, monkeypatch):
    """export(roles=...) writes each role's file, key and description and the class names; llc_lib.load(profile,
    role) loads that file, and refuses it in one line once its bytes no longer match the manifest."""
    import llc_lib
    from llc_lib import api

    ws, p2 = trained
    folder = tmp_path / "repo" / "weights" / "toy"
    m = weights.export([p2], ws, folder, {"headline": (p2, "Phase 2"), "phase1": (p2.parent, "Phase 1")}, ("a", "b"))
    assert m["roles"]["headline"] == {"file": f"ckpt/{p2.name}.pt", "key": p2.key, "what": "Phase 2"}
    assert m["roles"]["phase1"]["file"] == f"ckpt/{p2.parent.name}.pt" and m["classes"] == ["a", "b"]
    (tmp_path / "repo" / "pyproject.toml").write_text('[project]\nname = "llc_lib"\n')
    (tmp_path / "repo" / "notebooks").mkdir()
    monkeypatch.setattr(api, "REPO_ROOT", tmp_path / "repo")
    model = llc_lib.load("toy")
    assert model.role == "headline" and model.class_names == ("a", "b") and model.max_bits == 6
    assert llc_lib.load("toy", role="phase1").path.name == f"{p2.parent.name}.pt"
    with pytest.raises(api.InputError, match="has no model of role 'real'"):
        llc_lib.load("toy", role="real")
    path = folder / "ckpt" / f"{p2.name}.pt"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(api.InputError, match="does not match weights/toy/MANIFEST.json"):
        llc_lib.load("toy")

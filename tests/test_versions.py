"""Each run record names the exact versions of Python and of every numeric package (``core.versions``), in the
machine record (``device.provenance``) that checkpoints and ``provenance.json`` hold."""

from __future__ import annotations

import importlib
import json
import platform
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

from llc_lib.core import versions as v

REPO = Path(__file__).resolve().parent.parent


def test_the_versions_are_the_installed_ones():
    import numpy
    import PIL
    import scipy
    import sklearn
    import torch
    import torchvision

    got = v.versions()
    assert got["python"] == platform.python_version()
    for key, mod in (
        ("numpy", numpy),
        ("scipy", scipy),
        ("scikit-learn", sklearn),
        ("torch", torch),
        ("torchvision", torchvision),
        ("pillow", PIL),
    ):
        assert got[key] == metadata.version(key), key  # what pip reports
        assert str(mod.__version__).split("+")[0] == got[key], key  # torch's own adds its build: 2.14.1+cu130


def test_an_absent_package_is_left_out_and_nothing_is_imported_to_ask():
    """In a fresh interpreter: versions() imports none of the packages (their metadata answers), faiss included
    when it is installed, an absent package is left out, and the versions are those of this process, where the
    packages are imported."""
    code = (
        "import sys, json; from llc_lib.core import versions as v\n"
        "v.PACKAGES['absent'] = ('no_such_module_xyz', ('no-such-dist-xyz',))\n"
        "out = v.versions()\n"
        "heavy = [m for m in ('torch', 'torchvision', 'scipy', 'sklearn', 'faiss', 'PIL') if m in sys.modules]\n"
        "print(json.dumps({'versions': out, 'imported': heavy}))"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["imported"] == [] and "absent" not in out["versions"]
    for m in ("torch", "torchvision", "scipy", "sklearn", "PIL"):  # here they are: the record must not change
        importlib.import_module(m)
    assert out["versions"] == v.versions()
    assert {"python", "numpy", "scipy", "scikit-learn", "torch", "torchvision", "pillow"} <= set(out["versions"])
    try:
        faiss = metadata.version("faiss-cpu")
    except metadata.PackageNotFoundError:
        faiss = None
    assert out["versions"].get("faiss") == faiss


def test_the_loaded_module_is_what_is_recorded(monkeypatch):
    """A module without package metadata (a source tree on the path) is recorded by its own ``__version__``."""
    monkeypatch.setitem(sys.modules, "fake_numeric_xyz", types.SimpleNamespace(__version__="9.8.7"))
    monkeypatch.setitem(v.PACKAGES, "fake", ("fake_numeric_xyz", ("no-such-dist-xyz",)))
    assert v.versions()["fake"] == "9.8.7"


def test_the_machine_record_holds_the_versions(tmp_path):
    from llc_lib.engine.device import provenance
    from llc_lib.studies import record_provenance

    rec = provenance(None)
    assert rec["versions"] == v.versions() and rec["torch"].split("+")[0] == rec["versions"]["torch"]
    assert record_provenance(tmp_path, ["a.json"])
    assert json.loads((tmp_path / "provenance.json").read_text())["a.json"]["versions"] == v.versions()

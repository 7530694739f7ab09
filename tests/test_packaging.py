import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}


def _name_spec(req: str):
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_pyproject_and_environment_yml_list_the_same_packages():
    proj = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = [r for name, reqs in proj["optional-dependencies"].items() if name != "dev" for r in reqs]
    py = dict(_name_spec(r) for r in proj["dependencies"] + extras)
    conda, section = {}, None
    for line in (REPO / "environment.yml").read_text().splitlines():
        if re.match(r"^\w", line):
            section = line.split(":")[0]
        m = re.match(r"^  - ([^:#]+)$", line)
        if (
            section == "dependencies"
            and m
            and m.group(1).strip() not in ("pip",)
            and not m.group(1).startswith("python")
        ):
            name, spec = _name_spec(m.group(1))
            conda[CONDA_NAMES.get(name, name)] = spec
    assert conda == py, f"pyproject.toml and environment.yml drifted: {set(conda.items()) ^ set(py.items())}"
    assert "-e ." in (REPO / "environment.yml").read_text()


def test_numpy_floor_admits_the_functions_we_use():
    """decode.py uses np.bitwise_count (NumPy >= 2.0); the declared floor must say so."""
    proj = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    spec = dict(_name_spec(r) for r in proj["dependencies"])["numpy"]
    assert spec == ">=2.0" and "bitwise_count" in (REPO / "llc_lib" / "kernels" / "decode.py").read_text()
    assert all("jupyter" not in r and "papermill" not in r and "faiss" not in r for r in proj["dependencies"])


def test_the_offline_dependency_check_knows_every_declared_package():
    """``make … VENV=`` checks imports with llc_lib.core.deps; its groups must cover pyproject.toml."""
    from llc_lib.core import deps

    proj = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_name_spec(r)[0] for r in proj["dependencies"] + proj["optional-dependencies"]["test"]}
    checked = {pip for group in ("core", "test") for pip in deps.GROUPS[group].values()}
    assert declared <= checked, f"not checked by llc_lib.core.deps: {declared - checked}"


def test_the_offline_dependency_check_names_what_is_missing(monkeypatch, capsys):
    from llc_lib.core import deps

    monkeypatch.setitem(deps.GROUPS, "core", {"numpy": "numpy", "no_such_module_xyz": "no-such-package"})
    assert deps.missing(["core"]) == ["no-such-package"]
    assert deps.main(["core"]) == 2
    assert "no-such-package" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown package groups"):
        deps.missing(["nope"])


def test_the_wheel_holds_every_module_of_the_package(tmp_path):
    """A regular (not editable) install gets every layer folder: the wheel's modules are the package's files."""
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"  # a clean copy: no build folder of an earlier wheel can fill in what is left out
    shutil.copytree(REPO / "llc_lib", src / "llc_lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=src,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("llc_lib-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    assert shipped == {str(p.relative_to(REPO)) for p in (REPO / "llc_lib").rglob("*.py")}

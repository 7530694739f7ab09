import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
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


def _pins() -> dict[str, str]:
    """constraints.txt as {normalised name: version}; every line that is no comment is ``name==version``."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)==([0-9][A-Za-z0-9_.+!\-]*)", line)
        assert m, f"constraints.txt: {line!r} is not name==version"
        name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
        assert name not in pins, f"constraints.txt pins {name} twice"
        pins[name] = m.group(2)
    return pins


def test_every_declared_dependency_is_pinned_in_constraints_within_its_range():
    """constraints.txt (what `make setup` installs with) pins every package pyproject.toml names, runtime and
    extras, to one version that its declared range admits; the package itself is not pinned."""
    from packaging.requirements import Requirement

    proj = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = [r for name, reqs in proj["optional-dependencies"].items() if name != "dev" for r in reqs]
    pins = _pins()
    assert "llc-lib" not in pins
    for req in map(Requirement, proj["dependencies"] + extras):
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{name} (pyproject.toml) is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req}"


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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The package's wheel, built once from a clean copy of the package's files (no build folder of an earlier
    wheel can fill in what is left out)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO / "llc_lib", src / "llc_lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp), "."],
        cwd=src,
        check=True,
        capture_output=True,
    )
    (path,) = tmp.glob("llc_lib-*.whl")
    return path


def test_the_wheel_holds_every_module_of_the_package(wheel):
    """A regular (not editable) install gets every layer folder: the wheel's modules are the package's files."""
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    assert shipped == {str(p.relative_to(REPO)) for p in (REPO / "llc_lib").rglob("*.py")}


def test_the_wheel_declares_its_license_authors_and_the_llc_command(wheel):
    """METADATA names the license (LICENSE: MIT, shipped), the authors as CITATION.cff names them, keywords and
    classifiers; entry_points.txt has the ``llc`` command, the CLI's ``main``."""
    from email.parser import Parser

    from llc_lib.__main__ import main

    z = zipfile.ZipFile(wheel)
    info = next(n.split("/")[0] for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    meta = Parser().parsestr(z.read(f"{info}/METADATA").decode())
    assert "MIT License" in (REPO / "LICENSE").read_text() and meta["License-Expression"] == "MIT"
    assert z.read(f"{info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
    cff = re.search(r'^authors:\n  - name: "([^"]+)"', (REPO / "CITATION.cff").read_text(), re.M).group(1)
    assert meta["Author"] == cff
    assert meta["Keywords"] and meta.get_all("Classifier") and meta.get_all("Project-URL")
    scripts = z.read(f"{info}/entry_points.txt").decode()
    assert re.search(r"^\[console_scripts\]\nllc = llc_lib\.__main__:main$", scripts, re.M), scripts
    assert callable(main)


FOLDERS = """
import json, llc_lib
from llc_lib.config.folders import data_dir, figures_dir, runs_root
from llc_lib.config.profiles import get_profile
from llc_lib.core.paths import home
cpu, smoke = get_profile("cpu"), get_profile("smoke")
print(json.dumps({"package": llc_lib.__file__, "home": str(home()), "data": str(data_dir()),
    "runs": str(runs_root(cpu)), "figures": str(figures_dir(cpu)), "smoke_figures": str(figures_dir(smoke))}))
"""


def test_an_installed_wheel_keeps_data_runs_and_figures_out_of_its_install_folder(wheel, tmp_path):
    """``pip install --target DIR`` of the wheel, imported with PYTHONPATH=DIR from a folder that is no checkout:
    data/, runs/ and figures/ go under $LLC_HOME (core.paths.home), none inside DIR; torch is not imported."""
    target, home, cwd = tmp_path / "site", tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), wheel],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLC_", "PYTHON", "XDG_"))}
    env.update(PYTHONPATH=str(target), LLC_HOME=str(home))
    r = subprocess.run(
        [sys.executable, "-c", FOLDERS + "import sys; assert 'torch' not in sys.modules"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert Path(out["package"]).is_relative_to(target)  # the installed copy, not this checkout
    assert out == {
        "package": out["package"],
        "home": str(home),
        "data": str(home / "data"),
        "runs": str(home / "runs" / "cpu"),
        "figures": str(home / "figures"),
        "smoke_figures": str(home / "runs" / "smoke" / "figures"),
    }
    assert not any(Path(v).is_relative_to(target) for k, v in out.items() if k != "package")
    llc = subprocess.run(
        [target / "bin" / "llc", "weights", "--help"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert llc.returncode == 0 and "--export" in llc.stdout, llc.stderr  # the console script runs the CLI
    env.pop("LLC_HOME")
    env.update(HOME=str(tmp_path / "user"), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    r = subprocess.run([sys.executable, "-c", FOLDERS], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["home"] == str(tmp_path / "xdg" / "llc_lib")

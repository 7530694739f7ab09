"""Where data/, runs/ and figures/ go (``core.paths.home`` and ``config.folders``): the project folder when the
package runs from a checkout, else $LLC_HOME, the current folder when it is a checkout, or the user's cache; and
the committed weights, which only a checkout has. tests/test_packaging.py checks the same on an installed wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from llc_lib.config import folders
from llc_lib.config.profiles import get_profile
from llc_lib.core import paths
from llc_lib.core.errors import UserError

REPO = Path(__file__).resolve().parent.parent
VARS = ("LLC_HOME", "LLC_RUNS_DIR", "LLC_DATA_DIR", "LLC_FIGURES_DIR", "XDG_CACHE_HOME")


def _checkout(folder: Path, marker: str | None = "notebooks", name: str = "llc_lib") -> Path:
    """A folder that looks like a checkout: pyproject.toml naming ``name`` and the ``marker`` (.git or notebooks)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[build-system]\nrequires = []\n\n[project]\nname = "{name}"\n')
    if marker == ".git":
        (folder / ".git").write_text("gitdir: /elsewhere\n")  # a worktree's .git is a file
    elif marker:
        (folder / marker).mkdir()
    return folder


@pytest.fixture
def clean_env(monkeypatch):
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def installed(tmp_path, clean_env):
    """The package as if installed: REPO_ROOT is a site-packages folder, the current folder is no checkout, the
    user's home is a temporary folder."""
    site = tmp_path / "site-packages"
    (site / "llc_lib").mkdir(parents=True)
    clean_env.setattr(paths, "REPO_ROOT", site)
    clean_env.setenv("HOME", str(tmp_path / "user"))
    clean_env.chdir(tmp_path)
    return tmp_path


def test_a_checkout_is_named_llc_lib_and_has_git_or_notebooks(tmp_path):
    assert paths.is_checkout(REPO)
    assert paths.is_checkout(_checkout(tmp_path / "a", ".git"))
    assert paths.is_checkout(_checkout(tmp_path / "b", "notebooks"))
    assert paths.is_checkout(_checkout(tmp_path / "c", ".git", name="llc-lib"))
    assert not paths.is_checkout(_checkout(tmp_path / "d", None))  # pyproject.toml alone: an sdist, say
    assert not paths.is_checkout(_checkout(tmp_path / "e", ".git", name="other_project"))
    (tmp_path / "f" / "notebooks").mkdir(parents=True)
    assert not paths.is_checkout(tmp_path / "f")  # no pyproject.toml
    assert not paths.is_checkout(tmp_path / "missing")


def test_in_a_checkout_everything_stays_in_the_project_folder(tmp_path, clean_env):
    """LLC_HOME and the current folder do not move a checkout's folders (the Makefile and the committed figures
    assume them); each folder's own variable still wins."""
    clean_env.setenv("LLC_HOME", str(tmp_path / "home"))
    clean_env.chdir(_checkout(tmp_path / "other_checkout"))
    cpu = get_profile("cpu")
    assert paths.home() == paths.REPO_ROOT == REPO
    assert folders.runs_root(cpu) == REPO / "runs" / "cpu"
    assert folders.figures_dir(cpu) == REPO / "figures"
    assert folders.figures_dir(get_profile("gpu")) == REPO / "figures" / "gpu"
    assert folders.data_dir() == REPO / "data"
    for name, sub in (("LLC_RUNS_DIR", "r"), ("LLC_DATA_DIR", "d"), ("LLC_FIGURES_DIR", "f")):
        clean_env.setenv(name, str(tmp_path / sub))
    assert folders.runs_root(cpu) == tmp_path / "r" / "cpu"
    assert folders.data_dir() == tmp_path / "d"
    assert folders.figures_dir(cpu) == tmp_path / "f"


def test_an_install_uses_llc_home(installed, clean_env):
    clean_env.setenv("LLC_HOME", str(installed / "home"))
    _checkout(installed / "proj")
    clean_env.chdir(installed / "proj")  # LLC_HOME wins over a checkout as the current folder
    home = installed / "home"
    assert paths.home() == home
    assert folders.runs_root(get_profile("cpu")) == home / "runs" / "cpu"
    assert folders.runs_root(get_profile("smoke")) == home / "runs" / "smoke"
    assert folders.figures_dir(get_profile("cpu")) == home / "figures"
    assert folders.figures_dir(get_profile("smoke")) == home / "runs" / "smoke" / "figures"
    assert folders.data_dir() == home / "data"
    clean_env.setenv("LLC_RUNS_DIR", str(installed / "r"))
    assert folders.runs_root(get_profile("cpu")) == installed / "r" / "cpu"


def test_an_install_run_from_a_checkout_uses_that_checkout(installed, clean_env):
    proj = _checkout(installed / "proj", ".git")
    clean_env.chdir(proj)
    assert paths.home() == proj
    assert folders.runs_root(get_profile("cpu")) == proj / "runs" / "cpu"
    assert folders.data_dir() == proj / "data"
    clean_env.chdir(_checkout(installed / "not_ours", ".git", name="other_project"))
    assert paths.home() == installed / "user" / ".cache" / "llc_lib"


def test_an_install_elsewhere_uses_the_user_cache(installed, clean_env):
    site = paths.REPO_ROOT
    assert paths.home() == installed / "user" / ".cache" / "llc_lib"
    clean_env.setenv("XDG_CACHE_HOME", str(installed / "xdg"))
    assert paths.home() == installed / "xdg" / "llc_lib"
    assert folders.data_dir() == installed / "xdg" / "llc_lib" / "data"
    clean_env.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec: a relative path is ignored
    assert paths.home() == installed / "user" / ".cache" / "llc_lib"
    for f in (folders.runs_root(get_profile("cpu")), folders.figures_dir(get_profile("cpu")), folders.data_dir()):
        assert not f.is_relative_to(site)
    assert not (installed / "user" / ".cache").exists()  # found, not created


def test_the_committed_weights_are_only_in_a_checkout(installed, clean_env):
    clean_env.setattr(paths, "REPO_ROOT", REPO)
    assert paths.committed_weights("cpu") == REPO / "weights" / "cpu"
    clean_env.setattr(paths, "REPO_ROOT", installed / "site-packages")
    _checkout(installed / "proj")
    clean_env.chdir(installed / "proj")  # the current folder does not hold the package's weights
    with pytest.raises(paths.NotACheckout) as e:
        paths.committed_weights("cpu")
    msg = str(e.value)
    assert isinstance(e.value, UserError) and "\n" not in msg
    assert "project's repository (weights/cpu)" in msg and "clone it" in msg and "checkpoint path" in msg


def test_cli_weights_outside_a_checkout_is_one_error_line(installed, clean_env, capsys):
    from llc_lib.__main__ import main

    assert main(["weights", "--profile", "cpu", "--runs-dir", str(installed / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the committed weights are in the project's repository") and err.count("\n") == 1
    assert not (installed / "runs").exists()

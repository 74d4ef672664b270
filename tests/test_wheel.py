"""The built wheel carries the templates, and an installed jcfix renders from its own copy, not the checkout.

Builds the wheel from a copy of the checkout (``pip wheel --no-deps --no-build-isolation --no-index``: no
download, no build files left in the checkout), installs it with ``--no-deps`` into a fresh virtual
environment, and runs that environment's Python from a directory outside the checkout.

The fresh venv gets the running environment's dependencies through a ``.pth`` file that lists the running
interpreter's site-packages directories. ``venv --system-site-packages`` would not do: when pytest itself
runs in a venv (as ``.ci/run`` does), "system" means the base interpreter, which lacks the dependencies.
A ``.pth`` line only appends a directory to ``sys.path``; the ``.pth`` files *inside* it are not run, so an
editable install of jcfix in the running environment cannot leak into the fresh one (and the test checks
that the package and its templates load from the fresh venv's site-packages).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from toolkit.actions import get_action
from toolkit.templates import template_names

CHECKOUT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
    ".hypothesis", "*.pyc",
)  # fmt: skip

PROBE = r"""
import importlib.resources, json, sys, sysconfig
import toolkit
from toolkit.actions import get_action
rendered = get_action("list_users").render({"Name": ["alice"]})
template = importlib.resources.files("toolkit.ps_templates").joinpath("list_users.ps1.j2")
print(json.dumps({
    "toolkit": toolkit.__file__,
    "template": str(template),
    "purelib": sysconfig.get_paths()["purelib"],
    "prefix": sys.prefix,
    "script": rendered.script,
    "parameters": dict(rendered.parameters),
}))
"""


def run(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def running_site_packages() -> list[str]:
    """Where the running interpreter's dependencies live (sysconfig, site, and sys.path's package dirs)."""
    candidates = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        candidates.append(site.getusersitepackages())
    candidates += [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    found: list[str] = []
    for candidate in candidates:
        path = Path(candidate).resolve()
        if path.is_dir() and str(path) not in found:
            found.append(str(path))
    return found


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel-build")
    source = work / "src"
    shutil.copytree(CHECKOUT, source, ignore=IGNORED)
    out = work / "dist"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), "."],
        cwd=source,
    )
    (wheel,) = out.glob("jcfix-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its directory."""
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    python = venv / "bin" / "python"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv.parent
    ).stdout.strip()
    (Path(purelib) / "_jcfix_test_dependencies.pth").write_text("\n".join(running_site_packages()) + "\n")
    run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", str(built_wheel)],
        cwd=venv.parent,
    )
    return venv


def test_wheel_ships_every_template(built_wheel: Path) -> None:
    names = set(zipfile.ZipFile(built_wheel).namelist())
    for template in template_names():
        assert f"toolkit/ps_templates/{template}" in names
    assert "toolkit/actions/list_users.py" in names
    assert not any(name.startswith("tests/") for name in names)


def expected_wheel_files() -> set[str]:
    """What the checkout says the wheel must hold: every file of toolkit/ (modules, report templates, scenarios,
    py.typed...), every PowerShell template and playbook."""
    files = {p.relative_to(CHECKOUT).as_posix() for p in (CHECKOUT / "toolkit").rglob("*") if p.is_file()}
    files = {f for f in files if not f.endswith((".pyc", ".pyo"))}
    files |= {f"toolkit/ps_templates/{p.name}" for p in (CHECKOUT / "ps_templates").glob("*.ps1.j2")}
    for pattern in ("*.yml", "*.yaml"):
        files |= {f"toolkit/playbooks/{p.name}" for p in (CHECKOUT / "playbooks").glob(pattern)}
        files |= {
            p.relative_to(CHECKOUT).as_posix() for p in (CHECKOUT / "toolkit" / "lab" / "scenarios").glob(pattern)
        }
    return {f for f in files if "__pycache__" not in f}


def test_wheel_ships_every_module_and_data_file(built_wheel: Path) -> None:
    names = set(zipfile.ZipFile(built_wheel).namelist())
    missing = sorted(expected_wheel_files() - names)
    assert not missing, f"the wheel lacks {missing} (pyproject.toml [tool.setuptools] packages / package-data)"


def test_installed_wheel_renders_from_its_own_templates(installed: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = json.loads(run([str(installed / "bin" / "python"), "-c", PROBE], cwd=outside).stdout)

    purelib = Path(probe["purelib"]).resolve()
    assert Path(probe["prefix"]).resolve() == installed.resolve()
    for key in ("toolkit", "template"):
        path = Path(probe[key]).resolve()
        assert path.is_relative_to(purelib), f"{key} loaded from {path}, not the installed wheel"
        assert not path.is_relative_to(CHECKOUT)
    assert Path(probe["template"]).is_file()

    expected = get_action("list_users").render({"Name": ["alice"]})
    assert probe["script"] == expected.script
    assert probe["script"].startswith("# jcfix-template: list_users v1\n")
    assert probe["parameters"] == {"Name": ["alice"]}


def test_installed_cli_lists_templates(installed: Path, tmp_path: Path) -> None:
    if not (CHECKOUT / "toolkit" / "cli" / "app.py").is_file():
        pytest.skip("toolkit.cli.app does not exist yet")
    listed = run([str(installed / "bin" / "jcfix"), "templates"], cwd=tmp_path).stdout
    assert "list_users" in listed

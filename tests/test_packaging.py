"""A wheel of the checkout carries templates, static files and migrations, and an install of it works alone.

The wheel is built from a copy of the checkout's packaging inputs (so concurrent
runs never share a ``build/`` or ``*.egg-info`` in the checkout), installed into a
fresh venv, and run from a directory outside the repository: ``learnspace init``
migrates a new SQLite database and readies the test MinIO's bucket, then the
app serves the login page and a stylesheet.

Only learnspace comes from the wheel. Installing its dependencies from PyPI
(numpy, psycopg, cryptography, jieba's sdist …) would take minutes and need the
network, so the venv reaches the test interpreter's already installed
dependencies through a one-line ``.pth`` path entry. A path entry adds that
site-packages to ``sys.path`` without running its ``.pth`` files, so the
editable-install hook that maps ``learnspace`` to the checkout stays off; the
child process asserts that the checkout is nowhere on its path.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_INPUTS = ("learnspace", "templates", "static", "migrations",
                "setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md")

CHECK_INSTALLED = r"""
import sys
from pathlib import Path

root, venv = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
assert not any(Path(p or ".").resolve() == root for p in sys.path), sys.path

import learnspace
from alembic.script import ScriptDirectory
from sqlalchemy import text

from learnspace import create_app
from learnspace.extensions import db

assert Path(learnspace.__file__).resolve().is_relative_to(venv), learnspace.__file__
app = create_app({"TESTING": True})
for folder in (app.template_folder, app.static_folder, app.extensions["migrate"].directory):
    assert Path(folder).resolve().is_relative_to(venv), folder

client = app.test_client()
page = client.get("/login")
html = page.get_data(as_text=True)
assert page.status_code == 200, page.status_code
assert "登录网络学习空间" in html and 'lang="zh-CN"' in html, html[:500]
css = client.get("/static/css/app.css")
assert css.status_code == 200 and css.data.strip(), css.status_code

with app.app_context():
    current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
head = ScriptDirectory(app.extensions["migrate"].directory).get_current_head()
assert current == head, (current, head)
print("installed app OK")
"""


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert result.returncode == 0, f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.py[co]", "_shipped")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    # Build isolation fetches setuptools>=68 and wheel (pip caches them); the test venv has no wheel package.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(source)])
    (wheel,) = (tmp / "dist").glob("learnspace-*.whl")
    return wheel


def _assert_wheel_carries_the_folders(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = "learnspace/_shipped/"
    expected = {
        f"{shipped}templates/base.html", f"{shipped}templates/accounts/login.html", f"{shipped}static/css/app.css",
        f"{shipped}migrations/env.py", f"{shipped}migrations/script.py.mako", f"{shipped}migrations/alembic.ini",
        "learnspace/catalog/data/stages.json",
    }
    for folder in ("templates", "static", "migrations"):  # every file, not only the ones the app test touches
        expected |= {f"{shipped}{p.relative_to(ROOT).as_posix()}" for p in (ROOT / folder).rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
                     and p.suffix not in (".pyc", ".pyo")}
    expected |= {f"learnspace/catalog/data/{p.name}" for p in (ROOT / "learnspace" / "catalog" / "data").glob("*.json")}
    assert expected <= names, sorted(expected - names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def _make_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    # Without PYTHONPATH: a checkout on it (as in a git worktree's runs) looks to pip like learnspace is installed.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], env=clean)
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                   .stdout.strip())
    shared = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    # Sorted after the venv's own site-packages: learnspace is the wheel's.
    (purelib / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in shared))
    return venv


def test_wheel_installs_and_serves_outside_the_checkout(tmp_path, app_env, minio_server):
    from learnspace.storage.provisioning import provision

    bucket = "learnspace-packaging-test"
    user = provision(minio_server["endpoint"], minio_server["access_key"], minio_server["secret_key"],
                     bucket).credentials  # as scripts/run would: the app's own user, limited to its bucket
    wheel = _build_wheel(tmp_path)
    _assert_wheel_carries_the_folders(wheel)
    venv = _make_venv(tmp_path, wheel)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(app_env)
    env.update({
        "LEARNSPACE_VAR_DIR": str(var),
        "LEARNSPACE_DATABASE_URL": f"sqlite:///{var / 'learnspace.db'}",
        "LEARNSPACE_SEARCH_DIR": str(var / "search"),
        "LEARNSPACE_MINIO_BUCKET": bucket,
        "LEARNSPACE_MINIO_ACCESS_KEY": user.access_key,
        "LEARNSPACE_MINIO_SECRET_KEY": user.secret_key,
    })

    init = _run([str(venv / "bin" / "learnspace"), "init"], cwd=elsewhere, env=env)
    assert "database: up to date" in init.stdout, init.stdout
    assert "storage: bucket" in init.stdout, init.stdout

    checked = _run([str(venv / "bin" / "python"), "-c", CHECK_INSTALLED, str(ROOT), str(venv)], cwd=elsewhere, env=env)
    assert "installed app OK" in checked.stdout

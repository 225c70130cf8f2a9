"""A wheel built from the repository, installed in a fresh venv outside the checkout, runs
`plm reproduce --list` and one study with `--fast`.

Installing every dependency from the index would take minutes, so the fresh venv sees the dev
venv's site-packages through a .pth file. A .pth file inside a folder added that way is not
processed, so the dev venv's editable-install finder stays inactive; the test checks that
`plmresearch` is imported from the wheel's copy in the temporary venv.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHEAP_STUDY = "reading_methods_baumann"  # two OLS fits: seconds


def _run(cmd, cwd, env, timeout=300):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files a build would see")
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}

    # Build from a copy of the files git sees (tracked and untracked, not ignored), so the build
    # writes nothing into the checkout and sees what a clean clone would.
    src = tmp / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src],
         cwd=tmp, env=env)
    (wheel,) = dist.glob("plmresearch-*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp, env=env)
    py = venv / "bin" / "python"
    purelib = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).stdout.strip())
    (purelib / "_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([py, "-m", "pip", "install", "--no-deps", "-q", wheel], cwd=tmp, env=env)
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    return {"wheel": wheel, "venv": venv, "purelib": purelib, "cwd": cwd, "env": env}


def test_wheel_ships_every_package_card_and_spec(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for init in (ROOT / "plmresearch").rglob("__init__.py"):
        rel = init.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} is not in the wheel: add its package to [tool.setuptools] packages in pyproject.toml"
    for card in (ROOT / "datasets").glob("*.yaml"):
        assert f"plmresearch/datasets/{card.name}" in names
    specs = sorted((ROOT / "plmresearch/reproduce/studies").glob("*.yaml"))
    assert specs and all(f"plmresearch/reproduce/studies/{s.name}" in names for s in specs)


def test_installed_wheel_lists_and_runs_a_study_outside_the_checkout(installed):
    py, cwd, env = installed["venv"] / "bin" / "python", installed["cwd"], installed["env"]
    where = _run([py, "-c", "import plmresearch; print(plmresearch.__file__)"], cwd, env).stdout.strip()
    assert Path(where).is_relative_to(installed["purelib"]), f"plmresearch imported from {where}, not from the wheel"

    plm = installed["venv"] / "bin" / "plm"
    listed = _run([plm, "reproduce", "--list"], cwd, env).stdout.split()
    assert listed == sorted(p.stem for p in (ROOT / "plmresearch/reproduce/studies").glob("*.yaml"))

    run = _run([plm, "reproduce", CHEAP_STUDY, "--fast", "--reports-dir", "reports"], cwd, env | {"MPLBACKEND": "Agg"})
    print(run.stdout)
    assert "6 published quantities reproduced within tolerance" in run.stdout
    assert len(list((cwd / "reports").glob("scoreboard-*.html"))) == 1

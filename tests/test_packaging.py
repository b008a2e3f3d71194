"""The wheel is the tool: built from this tree and installed without -e into a fresh environment,
run from another folder, it lists and runs the lessons and starts the interface.

One wheel and one environment serve the whole module (about 30 s, most of it Numba compiling the
kernels in the new environment).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nnsim.scenario import shipped_lessons

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "nnsim", "tui", "samples"]
DEPENDENCIES = ["numpy", "numba", "llvmlite", "textual", "rich"]

START_THE_INTERFACE = """
import asyncio, json
from textual.widgets import OptionList
from nnsim.tui.app import NnsimApp

async def main():
    app = NnsimApp(None, warm=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        listing = app.screen.query_one(OptionList)
        options = [listing.get_option_at_index(i) for i in range(listing.option_count)]
        print(json.dumps({
            "screen": type(app.screen).__name__,
            "stylesheets": [path for path, _ in app.stylesheet.source],
            "lessons": [option.id for option in options if option.id],
        }))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: a build in the checkout leaves build/ and egg-info there
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "--no-index", "-q", "-w", str(work / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = (work / "dist").glob("nnsim-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory) -> Path:
    """The bin/ folder of a new environment holding only the wheel's nnsim."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    subprocess.run([*install, "--no-index", "-q", str(wheel)], check=True, capture_output=True)
    # The dependencies come from this environment, without a network. Only its folders are put
    # on sys.path: their .pth files, among them the editable install's hook that maps nnsim to
    # this checkout, are not run. (Written after the install, so pip never sees this nnsim.)
    folders = {_site_folder(name) for name in DEPENDENCIES}
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "nnsim_test_dependencies.pth").write_text("\n".join(sorted(folders)) + "\n")
    return venv / "bin"


def _site_folder(module: str) -> str:
    spec = __import__(module).__spec__
    return str(Path(spec.origin).parent.parent)


def run(fresh: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a command of the fresh environment from an empty folder outside the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["NUMBA_CACHE_DIR"] = str(fresh.parent / "numba-cache")
    env["PATH"] = f"{fresh}{os.pathsep}{env.get('PATH', '')}"
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    return subprocess.run(
        [str(fresh / args[0]), *args[1:]],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_holds_every_module_the_stylesheet_and_the_lessons_under_nnsim(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"nnsim"}  # no generic top-level `tui` (or `samples`) in site-packages
    expected = {f"nnsim/{p.relative_to(ROOT / 'nnsim').as_posix()}" for p in _files("nnsim")}
    expected |= {f"nnsim/tui/{p.relative_to(ROOT / 'tui').as_posix()}" for p in _files("tui")}
    lessons = {p for p in _files("samples")}
    expected |= {f"nnsim/lessons/{p.relative_to(ROOT / 'samples').as_posix()}" for p in lessons}
    assert "nnsim/tui/app.tcss" in expected
    assert "nnsim/lessons/pretrained/digits_0_4.npz" in expected
    assert sorted(expected - names) == []  # a new package must be listed in pyproject.toml


def _files(folder: str) -> list[Path]:
    return [
        p
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".nbi", ".nbc")
    ]


def test_the_interface_imports_itself_relatively_so_it_works_installed_as_nnsim_tui():
    for path in (ROOT / "tui").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+tui\b", path.read_text(), re.M), path


def test_the_installed_nnsim_is_the_wheels_and_there_is_no_top_level_tui(fresh, tmp_path):
    code = "import nnsim, nnsim.tui.app; print(nnsim.__file__); print(nnsim.tui.app.__file__)"
    out = run(fresh, tmp_path, "python", "-c", code)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.split():
        assert Path(line).is_relative_to(fresh.parent), line
    missing = run(fresh, tmp_path, "python", "-c", "import tui")
    assert "No module named 'tui'" in missing.stderr


def test_nnsim_lessons_lists_every_shipped_lesson_from_another_folder(fresh, tmp_path):
    out = run(fresh, tmp_path, "nnsim", "lessons", "--json")
    assert out.returncode == 0, out.stderr
    listed = [lesson["name"] for lesson in json.loads(out.stdout)]
    assert listed == [path.stem for path in shipped_lessons()]
    assert len(listed) > 40


def test_the_chinese_lessons_and_catalogue_come_with_the_wheel(fresh, tmp_path):
    out = run(fresh, tmp_path, "nnsim", "lessons", "--lang", "zh")
    assert out.returncode == 0, out.stderr
    assert "隐藏层解决异或问题" in out.stdout  # xor_mlp's title in Chinese
    code = "from nnsim.i18n import _, set_language; set_language('zh'); print(_('Answer:'))"
    out = run(fresh, tmp_path, "python", "-c", code)
    assert out.stdout.strip() == "答案：", out.stderr  # the compiled catalogue is package data


def test_a_lesson_runs_from_the_wheel(fresh, tmp_path):
    out = run(fresh, tmp_path, "nnsim", "run", "xor_mlp", "--iterations", "5", "--json")
    assert out.returncode in (0, 1), out.stderr  # 1: five iterations do not meet its checks
    report = json.loads(out.stdout)
    assert report["iterations"] == 5 and report["final_loss"] > 0


def test_a_lesson_loads_its_pretrained_weights_from_the_wheel(fresh, tmp_path):
    # finetune: init_from = "pretrained/digits_0_4.npz", beside the lesson file
    out = run(fresh, tmp_path, "nnsim", "run", "finetune", "--iterations", "2", "--json")
    assert out.returncode in (0, 1), out.stderr  # 2 with "no such checkpoint" if it is missing
    assert json.loads(out.stdout)["iterations"] == 2


def test_the_interface_starts_with_its_stylesheet_on_the_lesson_picker(fresh, tmp_path):
    out = run(fresh, tmp_path, "python", "-c", START_THE_INTERFACE)
    assert out.returncode == 0, out.stderr  # a missing app.tcss raises StylesheetError here
    started = json.loads(out.stdout.strip().splitlines()[-1])
    assert started["screen"] == "PickerScreen"
    stylesheets = [Path(path).as_posix() for path in started["stylesheets"]]
    assert any(path.endswith("nnsim/tui/app.tcss") for path in stylesheets)
    assert started["lessons"] == [path.stem for path in shipped_lessons()]

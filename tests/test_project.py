"""Facts about the project itself: the README's commands, CI, the CLI and the kernel rules."""

import ast
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from numba.core.caching import NullCache

import nnsim
from nnsim.kernels import _jit

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = _readme_commands()[1].strip().splitlines()[-1]
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_the_console_command_reports_its_version():
    out = subprocess.run(
        [sys.executable, "-m", "nnsim.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"nnsim {nnsim.__version__}"


def test_every_kernel_is_nogil_and_cached_and_none_may_assume_finite_values():
    import nnsim.functional  # noqa: F401  (imports every kernel module)
    from nnsim import optim  # noqa: F401

    assert len(_jit.REGISTRY) > 30
    for dispatcher in _jit.REGISTRY:
        options = dispatcher.targetoptions
        assert options.get("nogil") is True, dispatcher.__name__
        assert not isinstance(dispatcher._cache, NullCache), dispatcher.__name__
        # reductions may reassociate sums, products also fuse multiply-adds; nothing may
        # assume away NaN or inf
        assert options.get("fastmath", set()) <= {"reassoc", "contract"}, dispatcher.__name__
    for path in (ROOT / "nnsim").rglob("*.py"):
        assert "fastmath" not in path.read_text() or path.name == "_jit.py", path


def test_the_engine_never_imports_the_interface():
    interface = r"^\s*(import|from)\s+(textual|tui|nnsim\.tui|\.+tui)\b"  # tui/ is nnsim.tui
    for path in (ROOT / "nnsim").rglob("*.py"):
        assert not re.search(interface, path.read_text(), re.M), path


INTERFACE = ["textual", "tui", "nnsim.tui"]  # the repository's tui/ installs as nnsim.tui


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module that ``source`` (the text of ``module``) imports, at the top or inside a
    function, relative imports resolved: ``from . import walk`` in nnsim.layers.conv gives
    nnsim.layers and nnsim.layers.walk (an imported name may be a module, so it is kept)."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            parts = parts[: len(parts) - node.level + 1] if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, packages: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def assert_no_imports(
    from_package: str, forbidden: Sequence[str], allowed: Sequence[str] = ()
) -> None:
    """No module in the folder of ``from_package`` imports anything in (or below) a package
    of ``forbidden``, unless it is in one of ``allowed``."""
    folder = ROOT.joinpath(*from_package.split("."))
    paths = sorted(folder.rglob("*.py"))
    assert paths, folder
    offences = []
    for path in paths:
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        for name in sorted(imported_modules(path.read_text(), module, is_package)):
            if _within(name, forbidden) and not _within(name, allowed):
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == [], "\n".join(offences)


def test_the_import_scanner_resolves_relative_imports_and_sees_those_inside_functions():
    source = (
        "from . import walk\n"
        "from .base import Layer\n"
        "def lazy():\n"
        "    from ..sim.machine import Machine\n"
        "    import textual.app\n"
    )
    found = imported_modules(source, "nnsim.layers.conv")
    assert {"nnsim.layers.walk", "nnsim.layers.base", "nnsim.sim.machine", "textual.app"} <= found
    assert "nnsim.sim" in imported_modules("from ..sim import x", "nnsim.layers", is_package=True)
    assert imported_modules("from .. import functional", "nnsim.layers.base") >= {
        "nnsim.functional"
    }


def test_the_kernels_import_nothing_of_nnsim_but_the_kernels():
    assert_no_imports("nnsim.kernels", forbidden=["nnsim"], allowed=["nnsim.kernels"])


@pytest.mark.parametrize("package", ["nnsim.layers", "nnsim.functional"])
def test_layers_and_functional_never_import_the_simulator_or_what_drives_it(package):
    above = ["nnsim.sim", "nnsim.scenario", "nnsim.session", "nnsim.cli", *INTERFACE]
    assert_no_imports(package, forbidden=above)


def test_the_layers_never_import_the_model_module_so_sequential_and_the_blocks_have_no_cycle():
    assert_no_imports("nnsim.layers", forbidden=["nnsim.model"])


def test_no_engine_module_imports_textual_or_the_interface():
    assert_no_imports("nnsim", forbidden=INTERFACE)


def test_the_interface_reaches_the_engine_through_the_session_and_the_scenario_catalogue():
    engine_internals = [
        "nnsim.kernels",
        "nnsim.functional",
        "nnsim.layers",
        "nnsim.model",
        "nnsim.sim",
        "nnsim.report",
        "nnsim.visualize",
    ]
    assert_no_imports("tui", forbidden=engine_internals)


MAX_LINES = 400
OVER_THE_LIMIT: set[str] = set()  # none: issue 15's redesign split the five that were


def test_no_module_is_over_400_lines():
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for folder in ("nnsim", "tui")
        for path in (ROOT / folder).rglob("*.py")
    }
    too_long = {n: k for n, k in lengths.items() if k > MAX_LINES and n not in OVER_THE_LIMIT}
    assert too_long == {}


def test_warm_up_compiles_every_kernel_so_first_use_never_stalls():
    from nnsim.warmup import warm_up

    steps = []
    calls = warm_up(progress=lambda done, total, what: steps.append((done, total)))
    assert steps[-1] == (calls, calls)
    # helpers named _like_this are compiled into the kernels that call them; nnsim's own matrix
    # products only where this machine uses them (else BLAS does, and they never compile)
    from nnsim.kernels import products

    public = [d for d in _jit.REGISTRY if not d.__name__.startswith("_")]
    assert len(public) > 30
    if not products.use_own_products():
        public = [d for d in public if d.py_func.__module__ != products.__name__]
    assert [d.__name__ for d in public if not d.signatures] == []


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 (our own documentation)

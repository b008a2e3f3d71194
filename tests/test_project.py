"""Facts about the project itself: the README's commands, CI, the CLI and the kernel rules."""

import re
import subprocess
import sys
from pathlib import Path

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
        # reductions may reassociate sums; nothing may assume away NaN or inf
        assert options.get("fastmath", set()) <= {"reassoc"}, dispatcher.__name__
    for path in (ROOT / "nnsim").rglob("*.py"):
        assert "fastmath" not in path.read_text() or path.name == "_jit.py", path


def test_the_engine_never_imports_the_interface():
    for path in (ROOT / "nnsim").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+(textual|tui)\b", path.read_text(), re.M), path


def test_warm_up_compiles_every_kernel_so_first_use_never_stalls():
    from nnsim.warmup import warm_up

    steps = []
    calls = warm_up(progress=lambda done, total, what: steps.append((done, total)))
    assert steps[-1] == (calls, calls)
    # helpers named _like_this are compiled into the kernels that call them
    public = [d for d in _jit.REGISTRY if not d.__name__.startswith("_")]
    assert len(public) > 30
    assert [d.__name__ for d in public if not d.signatures] == []


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 (our own documentation)

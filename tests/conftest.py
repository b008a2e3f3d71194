"""Shared fixtures. Kernels compile once per machine thanks to Numba's on-disk cache."""

from collections import Counter

import numpy as np
import pytest

# a plain `pip install torch==2.13.0` brings the CUDA build, gigabytes the parity tests never use
TORCH_CPU = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"


@pytest.fixture(autouse=True)
def english():
    """Every test starts in English whatever the machine's locale (the default a learner gets
    without LANG=zh_*), and a test that switches to Chinese leaves no trace."""
    from nnsim.i18n import set_language

    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


# around pytest's own summary, so that this line comes last, just above the counts
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """Say so at the end of the run when the PyTorch parity tests were skipped: without torch
    the suite still passes, but the proofs against PyTorch did not run."""
    yield
    whole_files, tests = [], Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
        if "could not import 'torch'" not in reason:
            continue
        file, _, test = report.nodeid.partition("::")
        if test:
            tests[file] += 1
        else:
            whole_files.append(file)
    if not whole_files and not tests:
        return None
    skipped = whole_files + [f"{count} in {file}" for file, count in tests.items()]
    terminalreporter.write_line(
        f"PyTorch is not installed: the parity tests were skipped ({', '.join(skipped)}); "
        f"for its CPU build: {TORCH_CPU}",
        yellow=True,
        bold=True,
    )
    return None

"""Shared fixtures. Kernels compile once per machine thanks to Numba's on-disk cache."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)

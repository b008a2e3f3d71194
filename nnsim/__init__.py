"""nnsim: a step-through neural-network simulator for watching deep learning happen.

The engine never imports the terminal interface. The public array API is ``nnsim.functional``;
layers are in ``nnsim.layers``, the model (``Sequential``) in ``nnsim.model``, losses in
``nnsim.losses``, optimisers in ``nnsim.optim``, initialisers in ``nnsim.init``, data in
``nnsim.data``, the classic networks in ``nnsim.architectures``, checkpoints in
``nnsim.checkpoint``, and ``nnsim.gradcheck(model, loss, x, y)`` checks any model's gradients.

Importing nnsim keeps freed memory in the process on glibc (see ``nnsim._memory``: an iteration
would otherwise pay for fresh zeroed pages every time); ``NNSIM_MALLOC_DEFAULTS=1`` opts out. It
gives BLAS one thread per process (see ``nnsim._threads``); ``NNSIM_THREADS`` chooses another
count. It imports neither Numba nor the kernels: ``Sequential`` and ``gradcheck`` load on first
use, so a front end can draw before the kernels load.
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"

from . import (
    _memory,  # noqa: E402, F401  (first: later imports allocate under its settings)
    _threads,  # noqa: E402, F401  (before any product runs)
)

__all__ = ["Sequential", "__version__", "gradcheck"]


class _Package(types.ModuleType):
    """``nnsim.gradcheck`` is the function although a submodule has the same name: importing
    the submodule (``from nnsim.gradcheck import ...``) binds it on the package, which must not
    replace the function, so the name is a property whose setter ignores that binding."""

    @property
    def gradcheck(self):  # noqa: ANN201  (the function of nnsim.gradcheck)
        from .gradcheck import gradcheck

        return gradcheck

    @gradcheck.setter
    def gradcheck(self, value: object) -> None:
        pass  # the import system binding the submodule: the property stays the function


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> object:
    if name == "Sequential":
        from .model import Sequential

        return Sequential
    raise AttributeError(f"module 'nnsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""nnsim: a step-through neural-network simulator for watching deep learning happen.

The engine never imports the terminal interface. The public array API is ``nnsim.functional``;
layers are in ``nnsim.layers``, the model (``Sequential``) in ``nnsim.model``, losses in
``nnsim.losses``, optimisers in ``nnsim.optim``, initialisers in ``nnsim.init``, data in
``nnsim.data``, the classic networks in ``nnsim.architectures``, checkpoints in
``nnsim.checkpoint``, and ``nnsim.gradcheck(model, loss, x, y)`` checks any model's gradients.

Importing nnsim keeps freed memory in the process on glibc (see ``nnsim._memory``: an iteration
would otherwise pay for fresh zeroed pages every time); ``NNSIM_MALLOC_DEFAULTS=1`` opts out.
"""

__version__ = "0.1.0"

from . import _memory  # noqa: E402, F401  (first: later imports allocate under its settings)
from .gradcheck import gradcheck  # noqa: E402
from .model import Sequential  # noqa: E402

__all__ = ["Sequential", "__version__", "gradcheck"]

"""nnsim: a step-through neural-network simulator for watching deep learning happen.

The engine never imports the terminal interface. The public array API is ``nnsim.functional``;
layers are in ``nnsim.layers``, the model (``Sequential``) in ``nnsim.model``, losses in
``nnsim.losses``, optimisers in ``nnsim.optim``, initialisers in ``nnsim.init``, data in
``nnsim.data``, the classic networks in ``nnsim.architectures``, checkpoints in
``nnsim.checkpoint``, and ``nnsim.gradcheck(model, loss, x, y)`` checks any model's gradients.
"""

__version__ = "0.1.0"

from .gradcheck import gradcheck  # noqa: E402
from .model import Sequential  # noqa: E402

__all__ = ["Sequential", "__version__", "gradcheck"]

"""The model is the outermost ``Sequential``, which lives with the layers
(``nnsim.layers.sequential``); this module keeps ``from nnsim.model import Sequential`` working."""

from .layers.sequential import Sequential

__all__ = ["Sequential"]

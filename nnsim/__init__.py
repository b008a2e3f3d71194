"""nnsim: a step-through neural-network simulator for watching deep learning happen.

The engine never imports the terminal interface. The public array API is ``nnsim.functional``;
optimisers are in ``nnsim.optim`` and initialisers in ``nnsim.init``.
"""

__version__ = "0.1.0"

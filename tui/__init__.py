"""The nnsim terminal interface (Textual). It drives the engine only through
``nnsim.session.Session``: commands in, immutable views out. The engine never imports it."""

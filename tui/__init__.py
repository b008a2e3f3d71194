"""The nnsim terminal interface (Textual). It reads the engine only through the Simulator, its
Events and its Trace, via ``runner.Runner``; the engine never imports it."""

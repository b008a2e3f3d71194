"""Scenario files: a lesson or an experiment in TOML, read with tomllib and checked up front.

    [lesson]
    title = "Vanishing gradients in a deep sigmoid network"
    text = \"\"\"markdown for the learner\"\"\"

    [data]                      # see nnsim/scenario/data.py
    source = "spirals"

    [model]                     # layers: see nnsim/scenario/layers.py
    layers = [ { type = "dense", units = 32, activation = "sigmoid", repeat = 12 },
               { type = "dense", units = 2 } ]
    loss = "cross_entropy"      # or { type = "cross_entropy", weight = [1.0, 5.0] }
    # architecture = "lenet5"   # instead of layers; with width and input_size
    # dtype = "float64"
    # init_from = "pretrained/digits_0_4.npz"   # weights from a checkpoint (nnsim run --save),
    # init_layers = ["conv1", "conv2"]          # of these layers only (default: every layer)
    # input_gradients = false   # true: the first layer computes dL/dinput too (conv_backward)

    [train]
    optimizer = "sgd"           # or { type = "adam", lr = 0.001, betas = [0.9, 0.999] }
    lr = 0.1
    batch_size = 32
    iterations = 200
    seed = 0
    clip_norm = 1.0             # and/or clip_value
    l1 = 0.0                    # penalties on every layer with weights
    l2 = 0.0
    eval_every = 0              # validation loss/accuracy every N iterations
    lr_decay = { every = 50, factor = 0.5 }   # step decay of the learning rate
    early_stopping = 5          # stop after 5 validations without improvement, keep the best

    [diagnostics]               # verdict thresholds (nnsim.sim.diagnostics.Thresholds)
    vanishing = 1e-4

    [[breakpoints]]
    when = "nonfinite() or loss > 10"

    [[expect]]
    check = "grad_norm(dense1) / grad_norm(dense13) < 1e-4"
    at = "end"                  # or an iteration number

Every error names the file, the line where it can be found, the key path and what was
expected; an unknown key gets a "did you mean". A scenario is data only: nothing in it runs.
Sizes are checked before anything big is made: a run that would not fit the memory budget
(2 GiB, or the environment variable NNSIM_MEMORY_BUDGET, e.g. 8GiB) is refused with the
estimate and its biggest part (nnsim/scenario/budget.py); ``repeat`` is at most 1000, a model
at most 10 000 layers, arrays and tables nest at most 64 deep, conditions 64 levels and 256
terms (nnsim.sim.conditions).
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

from .catalogue import SAMPLES, LessonEntry, find, lesson_listing, lesson_sections, shipped_lessons
from .errors import ScenarioError
from .gan import GanScenario, load_gan
from .network import load_network
from .schema import Source
from .spec import Expectation, Scenario
from .surface import SurfaceScenario, load_surface

__all__ = [
    "Expectation",
    "GanScenario",
    "SAMPLES",
    "Scenario",
    "ScenarioError",
    "SurfaceScenario",
    "find",
    "lesson_listing",
    "lesson_sections",
    "LessonEntry",
    "load",
    "shipped_lessons",
]


def load(path: str | Path) -> Scenario | SurfaceScenario | GanScenario:
    """Read and check a scenario file in one pass (data made, the model built once to check
    it); ``path`` may also name a shipped lesson, such as "vanishing_sigmoid". A file with a
    [surface] table is an optimiser race, one with a [gan] table a GAN."""
    path = find(path)
    text = read_text(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(
            path, _toml_line(str(err), text), [], f"not valid TOML: {err}"
        ) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise _too_deep(path, text) from None
    if _deepest(raw) > MAX_NESTING:
        raise _too_deep(path, text)
    source = Source(path, text)
    if "surface" in raw:
        return load_surface(source, raw)
    if "gan" in raw:
        return load_gan(source, raw)
    return load_network(source, raw)


#: The deepest nesting of arrays and tables a scenario may have (the lessons use 5).
MAX_NESTING = 64
#: The largest scenario file read (the lessons are under 20 KiB).
MAX_FILE_BYTES = 16 * 2**20


def read_text(path: Path) -> str:
    """The file's text: a regular file of at most MAX_FILE_BYTES (a FIFO or /dev/zero would
    never end); an error names the line of a byte that is not UTF-8."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ScenarioError(path, None, [], "is not a regular file (a scenario is a .toml)")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(path, None, [], "no such scenario file") from None
    except OSError as err:
        raise ScenarioError(path, None, [], f"cannot be read: {err}") from None
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 2**20
        raise ScenarioError(path, None, [], f"is over {limit} MiB: not a scenario file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ScenarioError(
            path,
            line,
            [],
            f"is not UTF-8 text: byte {data[err.start]:#04x} at column {column} ({err.reason})",
        ) from None


def _toml_line(message: str, text: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    if match:
        return int(match.group(1))
    if "end of document" in message:  # the parser ran out of text: its last line
        return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
    return None


def _deepest(value, depth: int = 0) -> int:
    """How deeply arrays and tables nest in a parsed scenario (stops past MAX_NESTING)."""
    if depth > MAX_NESTING or not isinstance(value, dict | list):
        return depth
    children = value.values() if isinstance(value, dict) else value
    return max((_deepest(child, depth + 1) for child in children), default=depth + 1)


def _too_deep(path: Path, text: str) -> ScenarioError:
    message = f"arrays or tables nested too deeply (more than {MAX_NESTING} levels)"
    return ScenarioError(path, _too_deep_line(text), [], message)


def _too_deep_line(text: str) -> int | None:
    """The line where brackets and braces first nest deeper than MAX_NESTING (comments and
    one-line strings skipped: a light scan, like locate's)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        quote = None
        for ch in line:
            if quote:
                quote = None if ch == quote else quote
            elif ch == "#":
                break
            elif ch in "\"'":
                quote = ch
            elif ch in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    return number
            elif ch in "]}":
                depth = max(0, depth - 1)
    return None

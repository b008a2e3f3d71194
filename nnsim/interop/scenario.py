"""``[model] file = "my.onnx"`` (or a ``.safetensors`` / ``.pt`` beside ``layers``): a
scenario's model read from a file, and the scenario ``nnsim run --model FILE --data FILE``
makes without a TOML file of the learner's."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..scenario import budget
from ..scenario.spec import ModelSpec
from .graph import InteropError

WEIGHT_FILES = (".safetensors", ".pt", ".pth")


@dataclass(frozen=True, eq=False)
class ImportedModelSpec(ModelSpec):
    """A ModelSpec whose built models start from weights read from a file (checked when the
    scenario was read), with the file's PyTorch key names for ``--save-torch``."""

    weights: dict = field(default_factory=dict)  # "conv1.W" -> array (read-only)
    torch_keys: dict | None = None
    origin: str = ""
    notes: tuple[str, ...] = ()
    layers_from: tuple[tuple[str, str], ...] = ()  # (nnsim layer, where in the source model)
    read_inits: tuple = ()  # the layers' init keys as read: a what-if that changes them

    def load_weights(self, model) -> None:
        super().load_weights(model)
        if inits(self.layers) != self.read_inits:
            return  # "what if it started from he_normal?": the new start, not the file's
        targets = {**model.parameters(), **model.buffers()}
        for key, value in self.weights.items():
            if key in targets:  # a what-if may have swapped an activation (no weights)
                targets[key][...] = value
        if self.torch_keys is not None:
            model.torch_keys = dict(self.torch_keys)


def inits(specs) -> tuple:
    """Every layer spec's ``init`` as written (None where not), blocks included."""
    return tuple(
        value
        for spec in specs
        for value in (spec.table.get("init"), *(i for b in spec.blocks for i in inits(b)))
    )


def read_model_file(t, shape: tuple, dtype: str, loss) -> ModelSpec:
    """[model] with ``file``: an ONNX model, or weights for the layers given beside them."""
    from ..scenario.layers import parse_layers
    from ..scenario.network import with_layer_names
    from . import read_onnx
    from .build import parse

    path = t.source.path.parent / t.get("file", str)
    input_gradients = t.get("input_gradients", bool, False)
    try:
        if path.suffix == ".onnx":
            if t.has("layers"):
                raise t.error("layers", "an ONNX file brings its own layers: remove layers")
            imported = read_onnx(path)
            if tuple(imported.input_shape) != tuple(shape):
                raise t.error(
                    "file",
                    f"{path.name} takes examples shaped {list(imported.input_shape)} but the "
                    f"data's are {list(shape)}",
                )
            layers, origin, notes = parse(imported), imported.origin, imported.notes
            layers_from = tuple((n.table["name"], n.where) for n in imported.leaves)
        elif path.suffix in WEIGHT_FILES:
            layers = parse_layers(t.source, [*t.keys, "layers"], t.get("layers", list))
            origin, notes, imported = (
                f"layers from the scenario, weights from {path.name}",
                (),
                None,
            )
            layers_from = ()
        else:
            raise t.error(
                "file",
                f"{path.name}: a model file is .onnx, or weights (.safetensors, .pt) beside layers",
            )
    except InteropError as err:
        raise t.error("file", str(err)) from None
    t.done()
    spec = ImportedModelSpec(
        loss,
        dtype,
        tuple(shape),
        layers,
        input_gradients=input_gradients,
        origin=origin,
        notes=notes,
        layers_from=layers_from,
        read_inits=inits(layers),
    )
    spec = with_layer_names(spec, t.source, t.keys)
    nbytes = spec.sizes.parameters * np.dtype(dtype).itemsize
    too_big = budget.problem([budget.Part("the parameters", nbytes)])
    if too_big is not None:
        raise t.error("file", too_big)
    model = spec.build(0, weights=False)
    try:
        if imported is not None:
            from .build import assign

            assign(model, imported)
        else:
            from .torch_writer import load_weights

            load_weights(model, path)
    except InteropError as err:
        raise t.error("file", str(err)) from None
    weights = {k: _frozen(v) for k, v in {**model.parameters(), **model.buffers()}.items()}
    return replace(spec, weights=weights, torch_keys=getattr(model, "torch_keys", None))


def _frozen(array: np.ndarray) -> np.ndarray:
    copy = array.copy()
    copy.flags.writeable = False  # shared by every model the scenario builds
    return copy


# ---------------------------------------------------------------- nnsim run --model


def scenario_text(model: Path, data: Path, labels_are_classes: bool, examples: int) -> str:
    """The TOML of the lesson made for a model file and a data file."""
    loss = "cross_entropy" if labels_are_classes else "mse"
    batch = min(32, examples)
    iterations = max(50, min(500, 5 * math.ceil(examples / batch)))  # five epochs, 50 to 500
    text = (
        f"Your own model, read from `{model.name}`, trained on `{data.name}` "
        f"({examples:,} examples): {loss.replace('_', '-')} loss, Adam at 0.001, batches of "
        f"{batch}, {iterations} iterations (about {iterations * batch / examples:.0f} passes "
        "over the data).\n\n"
        "Step it like any lesson: `n` runs one micro-op, `s` steps into a layer. Each layer "
        "keeps the weights it was read with, so the first loss is your model's own."
    )
    return "\n".join(
        [
            "[lesson]",
            f"title = {_quoted('Your model: ' + model.name)}",
            f"text = {_quoted(text)}",
            "[data]",
            'source = "file"',
            f"path = {_quoted(str(data.resolve()))}",
            "[model]",
            f"file = {_quoted(str(model.resolve()))}",
            f'loss = "{loss}"',
            "[train]",
            'optimizer = { type = "adam", lr = 0.001 }',
            f"batch_size = {batch}",
            f"iterations = {iterations}",
            "",
        ]
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _labels(data: Path) -> tuple[bool, int]:
    """Whether the data's labels are class numbers, and how many examples there are."""
    from ..data.files import read_csv_text, read_npz

    if data.suffix == ".npz":
        y = read_npz(data, ("x", "y"))["y"]
        return y.dtype.kind in "iu", len(y)
    rows = [r for r in read_csv_text(data).splitlines()[1:] if r.strip()]
    last = [r.rsplit(",", 1)[-1].strip() for r in rows]
    return all(v.lstrip("-").isdigit() for v in last), len(rows)


def model_scenario(model: str, data: str):
    """The scenario of ``nnsim run/tui --model FILE --data FILE``, made in memory and read by
    the scenario reader like a file (so every check of a lesson applies)."""
    from ..scenario.network import load_network
    from ..scenario.schema import Source

    model_path, data_path = Path(model), Path(data)
    for path, what in ((model_path, "--model"), (data_path, "--data")):
        if not path.is_file():
            raise InteropError(f"{what} {path}: no such file")
    if data_path.suffix not in (".npz", ".csv"):
        raise InteropError(f"--data {data_path}: data files are .npz (arrays x, y) or .csv")
    classes, examples = _labels(data_path)
    text = scenario_text(model_path, data_path, classes, examples)
    where = model_path.resolve().with_suffix(".toml")  # errors name the model's file
    scenario = load_network(Source(where, text), tomllib.loads(text))
    spec = scenario.model
    extra = "".join(f"\n- `{name}` is {where}" for name, where in spec.layers_from)
    extra = f"\n\nWhere each layer came from ({spec.origin}):\n{extra}" if extra else ""
    extra += "".join(f"\n\n**Note.** {note}" for note in spec.notes)
    if extra:
        lesson = scenario.lesson
        lesson = replace(lesson, localized_text=lesson.localized_text.map(lambda s: s + extra))
        scenario = replace(scenario, lesson=lesson)
    return scenario

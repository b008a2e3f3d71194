"""The command line's side of interop: ``nnsim run --model FILE --data FILE`` (a lesson made
for the learner's model and data) and ``--save-torch FILE`` (the trained weights as a PyTorch
state_dict). nnsim/cli.py adds the arguments; nnsim/cli_run.py calls these."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(run: argparse.ArgumentParser) -> None:
    """--model, --data and --save-torch on `nnsim run` (whose scenario becomes optional)."""
    run.add_argument(
        "--model",
        metavar="FILE",
        help="your own model (.onnx) to train instead of a scenario; needs --data",
    )
    run.add_argument(
        "--data", metavar="FILE", help="with --model: the data, .npz (arrays x, y) or .csv"
    )
    run.add_argument(
        "--save-torch",
        metavar="FILE",
        help="write the trained weights as a PyTorch state_dict, FILE.safetensors",
    )


class ModelLesson:
    """The lesson of a model file and a data file, made when called (the interface opens it
    in a worker thread, like a scenario file)."""

    def __init__(self, model: str, data: str) -> None:
        self.model, self.data = model, data

    def __str__(self) -> str:
        return f"{Path(self.model).name} with {Path(self.data).name}"

    def __call__(self):
        from .scenario import model_scenario

        return model_scenario(self.model, self.data)


def scenario_for_run(args, load):
    """The scenario `nnsim run` trains: the named lesson (``load``), or one made for
    --model/--data. Mistakes in the arguments are refused before anything runs."""
    from ..cli import UsageError

    model, data = getattr(args, "model", None), getattr(args, "data", None)
    save_torch = getattr(args, "save_torch", None)
    if save_torch is not None and Path(save_torch).suffix != ".safetensors":
        raise UsageError(f"--save-torch {save_torch}: the file must end in .safetensors")
    if model is None:
        if data is not None:
            raise UsageError("--data goes with --model FILE")
        if args.scenario is None:
            raise UsageError("give a scenario (a file or a lesson's name), or --model and --data")
        scenario = load(args.scenario)
        if save_torch is not None and scenario.kind != "network":
            raise UsageError("--save-torch is for network scenarios")
        return scenario
    if args.scenario is not None:
        raise UsageError("give a scenario or --model FILE, not both")
    if data is None:
        raise UsageError("--model needs --data FILE (.npz with arrays x and y, or .csv)")
    return ModelLesson(model, data)()


def save_after_run(args, sim) -> None:
    """--save-torch: the run's trained weights as a .safetensors state_dict."""
    if getattr(args, "save_torch", None):
        from . import save_torch

        save_torch(sim.model, args.save_torch)

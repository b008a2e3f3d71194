"""What a trained CNN looks at: occlusion sensitivity and activation maximisation.

Both work on a deep copy of the model in evaluation mode, so the model being trained (and the
simulator's inspected state: inputs, outputs, caches, gradients) is never touched.

- ``occlusion_map``: slide a grey patch over an image and record, for every pixel, how much
  the probability of the class falls when the patches covering it hide it (Zeiler and
  Fergus, 2014).
- ``maximize_class`` / ``maximize_filter``: gradient ascent on the input itself, from a grey
  image, with an L2 penalty and a periodic Gaussian blur that keep the result image-like
  (Simonyan et al., 2014; Yosinski et al., 2015).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from . import functional as F
from .model import Sequential


def _probe(model: Sequential) -> Sequential:
    """A copy of ``model`` in evaluation mode that computes the gradient for its input."""
    probe = copy.deepcopy(model)
    probe.eval()
    for layer in probe.walk():
        layer.frozen = True  # no parameter gradients: only dL/dinput is wanted
    first = probe.leaves()[0]
    first.needs_input_grad = True
    return probe


def _image(model: Sequential, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.shape != tuple(model.input_shape) or image.ndim != 3:
        raise ValueError(
            f"image: expected one image {tuple(model.input_shape)} (C, H, W) for this model, "
            f"got {image.shape}"
        )
    return image


def _label(model: Sequential, label: int) -> int:
    classes = model.output_shape[-1]
    if not 0 <= int(label) < classes:
        raise ValueError(f"label: the model has {classes} classes (0..{classes - 1}), got {label}")
    return int(label)


def probabilities(model: Sequential, images: np.ndarray) -> np.ndarray:
    """Softmax of the model's scores (N, classes) for images (N, C, H, W)."""
    probe = _probe(model)
    return F.softmax(probe.forward(np.asarray(images, dtype=np.float64)))


def occlusion_map(
    model: Sequential,
    image: np.ndarray,
    label: int,
    patch: int | None = None,
    fill: float | None = None,
) -> np.ndarray:
    """(H, W): for every pixel, the mean drop of p(label) over the patch positions that hide
    it, a patch x patch square (default: a quarter of the image's side) of value ``fill``
    (default: the image's mean, a flat grey). Positive where the pixel matters for the class,
    near 0 where it does not."""
    image, label = _image(model, image), _label(model, label)
    channels, height, width = image.shape
    patch = max(1, min(height, width) // 4) if patch is None else int(patch)
    if not 1 <= patch <= min(height, width):
        raise ValueError(f"patch: must be between 1 and {min(height, width)}, got {patch}")
    fill = float(image.mean()) if fill is None else float(fill)
    rows, cols = height - patch + 1, width - patch + 1
    hidden = np.repeat(image[None], rows * cols, axis=0)  # (positions, C, H, W)
    for k in range(rows * cols):
        i, j = divmod(k, cols)
        hidden[k, :, i : i + patch, j : j + patch] = fill
    probe = _probe(model)
    base = F.softmax(probe.forward(image[None]))[0, label]
    drops = base - F.softmax(probe.forward(hidden))[:, label]  # (positions,)
    total = np.zeros((height, width))
    count = np.zeros((height, width))
    for k, drop in enumerate(drops):
        i, j = divmod(k, cols)
        total[i : i + patch, j : j + patch] += drop
        count[i : i + patch, j : j + patch] += 1
    return total / count


@dataclass
class Maximized:
    """The input found by gradient ascent, and what it achieves."""

    image: np.ndarray  # (C, H, W)
    objective: float  # the class score or mean filter activation at the end
    probability: float  # p(class) for a class target; NaN for a filter


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """A 3x3 Gaussian blur of every channel of x (1, C, H, W), same size (zero padding)."""
    taps = np.exp(-np.array([1.0, 0.0, 1.0]) / (2 * sigma * sigma))
    kernel = np.outer(taps, taps)
    kernel /= kernel.sum()
    channels = x.shape[1]
    weights = np.repeat(kernel[None, None], channels, axis=0)  # (C, 1, 3, 3): one per channel
    return F.conv2d(x, weights, None, padding=1, groups=channels)


def _ascend(probe, x, gradient_of, steps, lr, l2, blur_every, blur_sigma):
    for step in range(1, steps + 1):
        objective, grad = gradient_of(x)
        x = x + lr * (grad - 2 * l2 * x)
        if blur_every and step % blur_every == 0:
            x = _blur(x, blur_sigma)
    return x, gradient_of(x)[0]


def maximize_class(
    model: Sequential,
    label: int,
    steps: int = 200,
    lr: float = 1.0,
    l2: float = 1e-3,
    blur_every: int = 4,
    blur_sigma: float = 0.5,
    start: np.ndarray | None = None,
) -> Maximized:
    """The input (from ``start``, default all zeros) that maximises the score of ``label``,
    by gradient ascent on score - l2 ||x||², blurred every ``blur_every`` steps."""
    label = _label(model, label)
    probe = _probe(model)
    x = np.zeros((1, *model.input_shape)) if start is None else _image(model, start)[None]

    def gradient_of(x):
        scores = probe.forward(x)  # (1, classes)
        dy = np.zeros_like(scores)
        dy[0, label] = 1.0
        return float(scores[0, label]), probe.backward(dy)

    x, objective = _ascend(probe, x, gradient_of, steps, lr, l2, blur_every, blur_sigma)
    probability = float(F.softmax(probe.forward(x))[0, label])
    return Maximized(x[0], objective, probability)


def maximize_filter(
    model: Sequential,
    layer: str,
    channel: int,
    steps: int = 200,
    lr: float = 1.0,
    l2: float = 1e-3,
    blur_every: int = 4,
    blur_sigma: float = 0.5,
) -> Maximized:
    """The input that maximises the mean activation of one channel of a top-level layer."""
    probe = _probe(model)
    names = [lay.name for lay in probe.layers]
    if layer not in names:
        raise ValueError(f"layer: {layer!r} is not a top-level layer of the model ({names})")
    upto = probe.layers[: names.index(layer) + 1]
    shape = upto[-1].output_shape
    if len(shape) != 3 or not 0 <= channel < shape[0]:
        raise ValueError(f"channel: {layer} outputs {shape}; pick a channel of its feature maps")

    def gradient_of(x):
        out = x
        for lay in upto:
            out = lay.forward(out)
        dy = np.zeros_like(out)  # (1, C, H, W)
        dy[0, channel] = 1.0 / (shape[1] * shape[2])
        for lay in reversed(upto):
            dy = lay.backward(dy)
        return float(out[0, channel].mean()), dy

    x = np.zeros((1, *model.input_shape))
    x, objective = _ascend(probe, x, gradient_of, steps, lr, l2, blur_every, blur_sigma)
    return Maximized(x[0], objective, float("nan"))


def occlusion_focus(model: Sequential, images: np.ndarray, labels: np.ndarray) -> float:
    """How much the occlusion maps follow the strokes: the mean, over the images, of the
    correlation between the map and the image's ink (its distance from its mean). Near 0 for
    a network that looks everywhere, well above 0 for one that looks at the digit."""
    scores = []
    for image, label in zip(images, labels, strict=True):
        sensitivity = occlusion_map(model, image, int(label)).ravel()
        ink = np.abs(image - image.mean()).sum(axis=0).ravel()  # (H * W,)
        if sensitivity.std() == 0 or ink.std() == 0:
            continue
        scores.append(float(np.corrcoef(sensitivity, ink)[0, 1]))
    return float(np.mean(scores)) if scores else float("nan")


def class_excitation(model: Sequential) -> float:
    """The smallest p(class) that activation maximisation reaches over every class: near 1
    when an input can be found that the network is sure is each of its classes."""
    classes = model.output_shape[-1]
    return min(maximize_class(model, label).probability for label in range(classes))

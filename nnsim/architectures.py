"""The classic CNNs at their published sizes, and scaled-down twins that train on the digits.

Every builder returns a compiled ``Sequential`` whose weights are not allocated until used, so
``vgg16().summary()`` is instant. The defaults give the published network: 224x224x3 input and
1000 classes (LeNet-5: 32x32x1, 10 classes); the parameter totals equal torchvision's.

``width`` scales every channel and hidden-unit count (rounded, at least 1) and ``input_size``
sets the square input; ``vgg16(num_classes=10, in_channels=1, input_size=32, width=1/16)`` is a
VGG-16 that trains on the digits upsampled to 32x32 (``nnsim.data.upsample``).
``for_digits(name)`` builds each twin with the settings of ``DIGITS_VARIANTS``. AlexNet and ZFNet
need an input of at least 64 (their strided first layers and three pools); the others 32.

Deviations from the papers, as in torchvision: no local response normalisation (AlexNet,
ZFNet); GoogLeNet uses batch norm after every convolution and, in the branch the paper gives a
5x5 kernel, a 3x3 one (torchvision's definition, which the 6 624 904 total counts). GoogLeNet's
auxiliary classifiers are off by default; ``googlenet_aux_heads`` builds them as separate models
on the inception 4a and 4d outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .layers import (
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Layer,
    MaxPool2d,
    ReLU,
    Residual,
    Tanh,
)
from .model import Sequential


def _scale(width: float) -> Callable[[int], int]:
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    return lambda channels: max(1, round(channels * width))


def architecture(
    num_classes: int = 1000, in_channels: int = 3, input_size: int = 224
) -> Callable[[Callable[..., list[Layer]]], Callable[..., Sequential]]:
    """Make ``layers(c, num_classes) -> list[Layer]`` (``c`` scales a channel count) into a
    builder ``name(num_classes, in_channels, input_size, width=1.0, seed=0, dtype=float64)``
    whose defaults are the published network's."""

    def wrap(layers: Callable[..., list[Layer]]) -> Callable[..., Sequential]:
        def build(
            num_classes: int = num_classes,
            in_channels: int = in_channels,
            input_size: int = input_size,
            width: float = 1.0,
            seed: int = 0,
            dtype=np.float64,
        ) -> Sequential:
            return Sequential(
                layers(_scale(width), num_classes),
                input_shape=(in_channels, input_size, input_size),
                seed=seed,
                dtype=dtype,
                name=layers.__name__,
            )

        build.__name__ = build.__qualname__ = layers.__name__
        build.__doc__ = layers.__doc__
        return build

    return wrap


@architecture(num_classes=10, in_channels=1, input_size=32)
def lenet5(c: Callable[[int], int], num_classes: int) -> list[Layer]:
    """LeNet-5 (LeCun et al., 1998), classic 32x32 variant: tanh, average-pool subsampling,
    C5 as a 5x5 convolution to 120 maps, F6 of 84 units; 61 706 parameters."""
    layers = [
        Conv2d(c(6), 5),
        Tanh(),
        AvgPool2d(2),
        Conv2d(c(16), 5),
        Tanh(),
        AvgPool2d(2),
        Conv2d(c(120), 5),
        Tanh(),
        Flatten(),
        Dense(c(84)),
        Tanh(),
        Dense(num_classes),
    ]
    return layers


def _classifier(features_hidden: int, num_classes: int, dropout_first: bool) -> list[Layer]:
    head: list[Layer] = [Flatten()]
    head += [Dropout(0.5)] if dropout_first else []
    head += [Dense(features_hidden), ReLU(), Dropout(0.5), Dense(features_hidden), ReLU()]
    head += [] if dropout_first else [Dropout(0.5)]
    return [*head, Dense(num_classes)]


@architecture(num_classes=1000, in_channels=3, input_size=224)
def alexnet(c: Callable[[int], int], num_classes: int) -> list[Layer]:
    """AlexNet (Krizhevsky et al., 2012) as torchvision defines it; 61 100 840 parameters."""
    layers = [
        Conv2d(c(64), 11, stride=4, padding=2),
        ReLU(),
        MaxPool2d(3, stride=2),
        Conv2d(c(192), 5, padding=2),
        ReLU(),
        MaxPool2d(3, stride=2),
        Conv2d(c(384), 3, padding=1),
        ReLU(),
        Conv2d(c(256), 3, padding=1),
        ReLU(),
        Conv2d(c(256), 3, padding=1),
        ReLU(),
        MaxPool2d(3, stride=2),
        *_classifier(c(4096), num_classes, dropout_first=True),
    ]
    return layers


@architecture(num_classes=1000, in_channels=3, input_size=224)
def zfnet(c: Callable[[int], int], num_classes: int) -> list[Layer]:
    """ZFNet (Zeiler and Fergus, 2013): AlexNet with a 7x7 stride-2 first layer and 512, 1024,
    512 filters in conv3-5 (the paper's larger model); the paper's map sizes 110, 55, 26, 13,
    13, 13, 6 at 224 input."""
    layers = [
        Conv2d(c(96), 7, stride=2, padding=1),
        ReLU(),
        MaxPool2d(3, stride=2, padding=1),
        Conv2d(c(256), 5, stride=2),
        ReLU(),
        MaxPool2d(3, stride=2, padding=1),
        Conv2d(c(512), 3, padding=1),
        ReLU(),
        Conv2d(c(1024), 3, padding=1),
        ReLU(),
        Conv2d(c(512), 3, padding=1),
        ReLU(),
        MaxPool2d(3, stride=2),
        *_classifier(c(4096), num_classes, dropout_first=False),
    ]
    return layers


@architecture(num_classes=1000, in_channels=3, input_size=224)
def vgg16(c: Callable[[int], int], num_classes: int) -> list[Layer]:
    """VGG-16 (Simonyan and Zisserman, 2014), configuration D: thirteen 3x3 convolutions in five
    stages, then three dense layers; 138 357 544 parameters. The convolutions start from He
    initialisation, as torchvision's do: with PyTorch's default, sixteen layers without batch
    norm barely pass a signal and the network hardly trains."""
    layers: list[Layer] = []
    for filters, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(repeats):
            layers += [Conv2d(c(filters), 3, padding=1, init="he_normal"), ReLU()]
        layers.append(MaxPool2d(2))
    layers += _classifier(c(4096), num_classes, dropout_first=False)
    return layers


def _conv_bn_relu(filters: int, kernel: int, stride: int = 1, padding: int = 0) -> list[Layer]:
    # GoogLeNet's BasicConv2d: convolution without bias, batch norm (eps 0.001), ReLU
    return [Conv2d(filters, kernel, stride, padding, bias=False), BatchNorm(eps=1e-3), ReLU()]


def _inception(c, ch1, red3, ch3, red5, ch5, pool_proj) -> Concat:
    return Concat(
        [
            _conv_bn_relu(c(ch1), 1),
            [*_conv_bn_relu(c(red3), 1), *_conv_bn_relu(c(ch3), 3, padding=1)],
            [*_conv_bn_relu(c(red5), 1), *_conv_bn_relu(c(ch5), 3, padding=1)],
            [MaxPool2d(3, stride=1, padding=1, ceil_mode=True), *_conv_bn_relu(c(pool_proj), 1)],
        ]
    )


@architecture(num_classes=1000, in_channels=3, input_size=224)
def googlenet(c: Callable[[int], int], num_classes: int) -> list[Layer]:
    """GoogLeNet / Inception v1 (Szegedy et al., 2014) as torchvision defines it, without the
    auxiliary classifiers; 6 624 904 parameters."""

    def pool(k=3):
        return MaxPool2d(k, stride=2, ceil_mode=True)

    layers = [
        *_conv_bn_relu(c(64), 7, stride=2, padding=3),
        pool(),
        *_conv_bn_relu(c(64), 1),
        *_conv_bn_relu(c(192), 3, padding=1),
        pool(),
        _inception(c, 64, 96, 128, 16, 32, 32),  # 3a
        _inception(c, 128, 128, 192, 32, 96, 64),  # 3b
        pool(),
        _inception(c, 192, 96, 208, 16, 48, 64),  # 4a
        _inception(c, 160, 112, 224, 24, 64, 64),  # 4b
        _inception(c, 128, 128, 256, 24, 64, 64),  # 4c
        _inception(c, 112, 144, 288, 32, 64, 64),  # 4d
        _inception(c, 256, 160, 320, 32, 128, 128),  # 4e
        pool(2),
        _inception(c, 256, 160, 320, 32, 128, 128),  # 5a
        _inception(c, 384, 192, 384, 48, 128, 128),  # 5b
        GlobalAvgPool2d(),
        Flatten(),
        Dropout(0.2),
        Dense(num_classes),
    ]
    return layers


def googlenet_aux_heads(
    num_classes: int = 1000, width: float = 1.0, seed: int = 0, dtype=np.float64
) -> tuple[Sequential, Sequential]:
    """GoogLeNet's two auxiliary classifiers (torchvision's InceptionAux) as separate models on
    the 14x14 outputs of inception 4a (512 channels) and 4d (528 channels); with them the
    network has 13 004 888 parameters."""
    c = _scale(width)

    def head(channels: int, name: str) -> Sequential:
        layers = [
            AvgPool2d(5, stride=3),
            *_conv_bn_relu(c(128), 1),
            Flatten(),
            Dense(c(1024)),
            ReLU(),
            Dropout(0.7),
            Dense(num_classes),
        ]
        return Sequential(layers, input_shape=(channels, 14, 14), seed=seed, dtype=dtype, name=name)

    return head(c(512), "aux1"), head(c(528), "aux2")


def _basic_block(in_channels: int, filters: int, stride: int) -> list[Layer]:
    main = [
        Conv2d(filters, 3, stride, 1, bias=False, init="he_normal"),
        BatchNorm(),
        ReLU(),
        Conv2d(filters, 3, 1, 1, bias=False, init="he_normal"),
        BatchNorm(),
    ]
    shortcut = None
    if stride != 1 or in_channels != filters:
        shortcut = [Conv2d(filters, 1, stride, bias=False, init="he_normal"), BatchNorm()]
    return [Residual(main, shortcut), ReLU()]


def _resnet(c: Callable[[int], int], blocks: tuple[int, ...], num_classes: int) -> list[Layer]:
    layers: list[Layer] = [
        Conv2d(c(64), 7, stride=2, padding=3, bias=False, init="he_normal"),
        BatchNorm(),
        ReLU(),
        MaxPool2d(3, stride=2, padding=1),
    ]
    channels = c(64)
    for stage, (filters, repeats) in enumerate(zip((64, 128, 256, 512), blocks, strict=True)):
        for i in range(repeats):
            stride = 2 if stage > 0 and i == 0 else 1
            layers += _basic_block(channels, c(filters), stride)
            channels = c(filters)
    layers += [GlobalAvgPool2d(), Flatten(), Dense(num_classes)]
    return layers


@architecture(num_classes=1000, in_channels=3, input_size=224)
def resnet18(c: Callable[[int], int], num_classes: int) -> list[Layer]:
    """ResNet-18 (He et al., 2015): basic blocks [2, 2, 2, 2] with 1x1 projection shortcuts
    where the shape changes; 11 689 512 parameters."""
    return _resnet(c, (2, 2, 2, 2), num_classes)


@architecture(num_classes=1000, in_channels=3, input_size=224)
def resnet34(c: Callable[[int], int], num_classes: int) -> list[Layer]:
    """ResNet-34: basic blocks [3, 4, 6, 3]; 21 797 672 parameters."""
    return _resnet(c, (3, 4, 6, 3), num_classes)


ARCHITECTURES: dict[str, Callable[..., Sequential]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "zfnet": zfnet,
    "vgg16": vgg16,
    "googlenet": googlenet,
    "resnet18": resnet18,
    "resnet34": resnet34,
}

#: Input size and width of the scaled-down twins that train on the 8x8 digits, upsampled by
#: input_size // 8 (tests/test_architectures.py trains each of them).
DIGITS_VARIANTS: dict[str, dict[str, float]] = {
    "lenet5": {"input_size": 32, "width": 1.0},
    "alexnet": {"input_size": 64, "width": 1 / 4},
    "zfnet": {"input_size": 64, "width": 1 / 8},
    "vgg16": {"input_size": 32, "width": 1 / 16},
    "googlenet": {"input_size": 32, "width": 1 / 8},
    "resnet18": {"input_size": 32, "width": 1 / 8},
    "resnet34": {"input_size": 32, "width": 1 / 8},
}


def for_digits(name: str, seed: int = 0, dtype=np.float32) -> Sequential:
    """The scaled-down twin of architecture ``name`` for the digits: 1 channel, 10 classes."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {list(ARCHITECTURES)}")
    settings = DIGITS_VARIANTS[name]
    return ARCHITECTURES[name](
        num_classes=10,
        in_channels=1,
        input_size=int(settings["input_size"]),
        width=settings["width"],
        seed=seed,
        dtype=dtype,
    )

"""The views that draw what the lessons promise: the decision map of a 2-D input, an
activation's f and f', the activation std across depth and the GAN's D(x), each checked
against the model it claims to show."""

import numpy as np
import pytest
from rich.console import Console
from training import XOR_WITH_ADAM

from nnsim import functional as F
from nnsim.activation_plot import curves_text, std_line
from nnsim.gan_plot import d_row, discriminator_line, histogram, x_range
from nnsim.layers.activation import ACTIVATION_LAYERS, ELU, Identity, LeakyReLU, Maxout
from nnsim.map_plot import render
from nnsim.run_views import print_views
from nnsim.session import Session
from nnsim.session.curves import activation_curves

XOR = (
    """
[lesson]
title = "xor"
"""
    + XOR_WITH_ADAM
)

PERCEPTRON = XOR.replace(
    '{ type = "dense", units = 4, activation = "tanh" }, { type = "dense", units = 2 }',
    '{ type = "dense", units = 2 }',
)


@pytest.fixture
def xor(tmp_path):
    path = tmp_path / "xor.toml"
    path.write_text(XOR)
    session = Session.open(path)
    session.execute("continue")
    return session


def grid_points(figure) -> np.ndarray:
    return np.stack(np.meshgrid(figure.xs, figure.ys), axis=-1).reshape(-1, 2)


def layer_values(session, points, name) -> np.ndarray:
    model = session.sim.model
    with model.inference():
        model.forward(points)
        return np.array(session.sim.layer(name).output)


# ---------------------------------------------------------------- the decision map


def test_the_map_regions_are_the_models_class_at_every_grid_point_around_the_data(xor):
    figure = xor.decision_map(rows=12, cols=20)
    assert figure.regions.shape == (12, 20) and not figure.regions.flags.writeable
    expected = np.argmax(xor.sim.predict(grid_points(figure)), axis=1).reshape(12, 20)
    assert np.array_equal(figure.regions, expected)
    x = xor.sim.stream.x
    assert figure.xs[0] < x[:, 0].min() and figure.xs[-1] > x[:, 0].max()  # with a margin
    assert figure.ys[-1] < x[:, 1].min() and figure.ys[0] > x[:, 1].max()  # row 0 the top
    assert np.array_equal(figure.points, x) and np.array_equal(figure.labels, xor.sim.stream.y)


def test_each_drawn_unit_line_is_where_that_first_layer_unit_is_zero(xor):
    figure = xor.decision_map()
    layer = xor.sim.layer("dense1")
    assert len(figure.lines) == layer.units == 4
    for k, line in enumerate(figure.lines):
        (w0, w1), b = line.w, line.b
        x1 = np.array([-0.5, 0.3, 1.5])
        on_line = np.stack([x1, -(w0 * x1 + b) / w1], axis=1)  # w·x + b = 0 solved for x2
        z = layer_values(xor, on_line, "dense1")[:, k]
        assert np.allclose(z, 0.0, atol=1e-9), (k, z)


def test_the_one_layer_model_draws_the_line_where_both_class_scores_are_equal(tmp_path):
    path = tmp_path / "perceptron.toml"
    path.write_text(PERCEPTRON)
    session = Session.open(path)
    session.execute("continue")
    (line,) = session.decision_map().lines
    x1 = np.array([0.0, 0.5, 1.0])
    on_line = np.stack([x1, -(line.w[0] * x1 + line.b) / line.w[1]], axis=1)
    scores = session.sim.predict(on_line)
    assert np.allclose(scores[:, 0], scores[:, 1], atol=1e-9)


def test_a_deeper_layer_shows_where_its_selected_unit_is_positive(xor):
    xor.select("dense2")
    xor.index = 1  # the . key: the second unit
    figure = xor.decision_map(rows=10, cols=16)
    assert figure.lines == () and "unit 2 of 2 of dense2" in figure.title
    expected = layer_values(xor, grid_points(figure), "dense2")[:, 1] > 0
    assert np.array_equal(figure.sign, expected.reshape(10, 16))


def test_the_map_is_recomputed_when_an_iteration_completes_not_per_micro_op(xor):
    session = xor.rerun()
    session.set_tab("map")
    first = session.try_figures().inspector
    while session.sim.completed == 0:  # every micro-op of the iteration but its update
        assert session.try_figures().inspector is first
        session.execute("step")
    assert session.try_figures().inspector is not first


def test_the_map_tab_says_why_it_is_empty_for_an_input_that_is_not_a_plane():
    session = Session.open("activations")  # one input feature
    session.set_tab("map")
    figure = session.try_figures().inspector
    assert figure.empty
    assert "needs inputs of 2 features" in figure.title and "input is 1" in figure.title


def test_the_drawn_map_puts_each_point_on_its_class_glyph_and_the_lines_across_it(xor):
    text = render(xor.decision_map(), 40, 12, plain=True).plain.splitlines()
    body = "\n".join(text[:12])
    assert body.count("o") >= 1 and body.count("x") >= 1  # the XOR points of both classes
    assert any(glyph in body for glyph in "─│╱╲")  # the unit lines
    assert all(len(line) == 40 for line in text[:12])
    assert "class 0" in "\n".join(text[12:]) and "w·x+b=0" in "\n".join(text[12:])


def test_nnsim_run_prints_the_map_for_a_2d_lesson_and_not_for_others(xor):
    console = Console(record=True, width=80, color_system=None)
    print_views(console, xor.sim)
    out = console.export_text()
    assert "decision map after the run" in out and "class 1" in out
    other = Session.open("activations")
    other.execute("continue")
    console = Console(record=True, width=80, color_system=None)
    print_views(console, other.sim)
    assert "decision map" not in console.export_text()


# ---------------------------------------------------------------- f and f'


@pytest.mark.parametrize(
    "layer",
    [cls() for cls in ACTIVATION_LAYERS.values()] + [LeakyReLU(0.2), ELU(0.5)],
    ids=lambda layer: layer.kind + str(layer.fn_params),
)
def test_f_prime_is_the_kernels_derivative_and_the_slope_of_f(layer):
    curves = activation_curves(layer)
    z = curves.z
    name, params = layer.function, layer.fn_params
    assert np.array_equal(curves.f, getattr(F, name)(z, **params))
    assert np.array_equal(
        curves.fprime, F.activation_backward(name, np.ones_like(z), z, curves.f, **params)
    )
    slope = np.diff(curves.f) / np.diff(z)  # the secant between grid points
    middle = (curves.fprime[:-1] + curves.fprime[1:]) / 2
    smooth = np.abs(z[:-1] * z[1:]) > 0  # leave out the interval around a kink at 0
    assert np.allclose(slope[smooth], middle[smooth], atol=2e-3)


def test_sigmoid_prime_peaks_at_a_quarter_and_tanh_prime_at_one_both_at_zero():
    sigmoid = activation_curves(ACTIVATION_LAYERS["sigmoid"]())
    tanh = activation_curves(ACTIVATION_LAYERS["tanh"]())
    assert sigmoid.peak == 0.25 and sigmoid.peak_where == "at z = 0"
    assert tanh.peak == 1.0 and tanh.peak_where == "at z = 0"
    relu = activation_curves(ACTIVATION_LAYERS["relu"]())
    assert relu.peak == 1.0 and relu.peak_where == "for z > 0"
    assert "max f' = 0.25 at z = 0" in curves_text(sigmoid, 50, 12).plain


def test_maxout_and_identity_have_curves_too():
    maxout = activation_curves(Maxout(2))
    assert np.array_equal(maxout.f, np.maximum(maxout.z, 0.0))
    assert set(maxout.fprime[maxout.z > 0]) == {1.0} and set(maxout.fprime[maxout.z < 0]) == {0}
    identity = activation_curves(Identity())
    assert np.array_equal(identity.f, identity.z) and set(identity.fprime) == {1.0}


def test_the_strip_counts_the_batchs_pre_activations(xor):
    xor.select("tanh1")
    curves = xor.activation_curves()
    z = np.asarray(xor.sim.layer("tanh1").input, dtype=np.float64).ravel()
    expected = np.histogram(z, curves.edges)[0] / z.size
    assert np.allclose(curves.counts, expected)
    assert curves.edges[0] <= z.min() or curves.below > 0  # the range covers the batch
    xor.select("dense1")
    assert xor.activation_curves() is None  # not an activation: its weights tab stays


# ---------------------------------------------------------------- activation std, D(x)


def test_the_std_line_is_np_std_of_each_activation_layers_output():
    session = Session.open("init_schemes")
    session.execute("continue")
    std = session.activation_std()
    assert std.layers == tuple(f"tanh{i}" for i in range(1, 11))
    for name, value in zip(std.layers, std.stds, strict=True):
        assert value == pytest.approx(float(np.std(session.sim.layer(name).output)), rel=1e-12)
    line = std_line(std, 50).plain
    assert line.startswith("tanh1 ") and line.endswith(" tanh10") and len(line) <= 50


def test_d_of_x_is_the_discriminators_output_and_is_drawn_at_its_height():
    session = Session.open("gan_1d")
    run = session.sim
    for _ in range(6):
        run.step()
    edges = np.linspace(-4, 4, 41)
    centres, d = discriminator_line(run, edges)
    with run.discriminator.inference():
        expected = run.discriminator.forward(centres[:, None])[:, 0]
    assert np.allclose(d, expected, rtol=0, atol=1e-12)
    lines = histogram(run, 40, 10).plain.splitlines()
    samples = run.samples()
    low, high = x_range(run.real_samples(), samples[np.isfinite(samples)])
    rows = d_row(discriminator_line(run, np.linspace(low, high, 41))[1], 10)
    assert rows.min() >= 1  # every column has its D(x) mark
    assert all(lines[10 - row][c] == "•" for c, row in enumerate(rows))

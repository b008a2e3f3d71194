"""First start: the loading screen warms only the opened lesson's kernels and names each one
before it compiles, with the real total."""

import subprocess
import sys
import textwrap

import pytest
from textual.app import App
from textual.widgets import ProgressBar, Static

from nnsim import warmup
from nnsim.session import Session
from nnsim.tui.screens.loading import LoadingScreen
from nnsim.warmup import plan_for, warm_up


@pytest.fixture(scope="module")
def sigmoid_plan():
    return plan_for(Session.open("vanishing_sigmoid"))


def test_the_default_lessons_plan_is_its_own_kernels_in_float64_and_no_others(sigmoid_plan):
    labels = sigmoid_plan.labels()
    for kernel in ("linear", "sigmoid", "cross_entropy", "sgd", "diagnostics"):
        assert f"{kernel} (float64)" in labels
    assert not [label for label in labels if "conv2d" in label or "float32" in label]
    assert not [label for label in labels if label.startswith(("lstm", "gru", "rnn"))]
    assert len(sigmoid_plan) == len(labels) < len(warmup.call_names()) // 4


def test_a_plan_follows_the_model_the_loss_and_the_optimiser():
    cnn = plan_for(Session.open("digits_cnn")).kernels
    assert {"conv2d", "max_pool2d", "relu", "adam"} <= set(cnn) and "sigmoid" not in cnn
    lstm = plan_for(Session.open("lstm_gates")).kernels
    assert {"lstm", "lstm steps", "mse_loss"} <= set(lstm) and "conv2d" not in lstm
    # the race and the GAN open behind the same progress: their optimisers and networks
    assert plan_for(Session.open("optimizers_2d")).kernels == ("sgd", "adagrad", "rmsprop", "adam")
    gan = plan_for(Session.open("gan_1d")).kernels
    assert {"linear", "binary_cross_entropy", "adam", "leaky_relu"} <= set(gan)


def test_warm_up_names_each_call_before_making_it_and_counts_the_real_total(monkeypatch):
    made, heard = [], []
    monkeypatch.setattr(
        warmup, "_calls", lambda dtype: {n: lambda n=n: made.append(n) for n in "abc"}
    )

    def progress(done, total, compiling):
        heard.append((done, total, compiling, list(made)))

    assert warm_up(["float64"], progress, only=["a", "c"]) == 2
    assert heard == [
        (0, 2, "a (float64)", []),
        (1, 2, "c (float64)", ["a"]),
        (2, 2, None, ["a", "c"]),
    ]
    with pytest.raises(ValueError, match="no warm-up call named \\['conv3d'\\]"):
        warm_up(["float64"], only=["conv3d"])


class _Opens(App):
    def __init__(self, screen):
        super().__init__()
        self.loading, self.dismissed = screen, False

    def on_mount(self):
        self.push_screen(self.loading, lambda _: setattr(self, "dismissed", True))


async def test_the_loading_screen_shows_each_kernel_before_it_compiles(monkeypatch, sigmoid_plan):
    shown = []  # what the screen says at the moment each kernel starts compiling
    screen = LoadingScreen(("float32",), plan=sigmoid_plan)

    def recorder(name):
        def call():
            bar = screen.query_one(ProgressBar)
            shown.append((name, str(screen.query_one("#what", Static).content), bar.total))

        return call

    real = warmup._calls
    monkeypatch.setattr(warmup, "_calls", lambda dtype: {n: recorder(n) for n in real(dtype)})
    app = _Opens(screen)
    async with app.run_test() as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if app.dismissed:
                break
        assert app.dismissed
    total = len(sigmoid_plan)
    assert shown == [
        (name, f"compiling {name} (float64), {i} of {total}", total)
        for i, name in enumerate(sigmoid_plan.kernels, start=1)
    ]


def test_after_the_loading_screen_the_first_iteration_compiles_nothing_more():
    # a fresh interpreter: kernels gain signatures as they compile or load from the cache
    script = textwrap.dedent("""
        from nnsim.kernels import _jit
        from nnsim.session import Session
        from nnsim.warmup import plan_for, warm_up

        for lesson in ("vanishing_sigmoid", "digits_cnn", "lstm_gates"):
            session = Session.open(lesson)
            plan = plan_for(session)
            warm_up(plan.dtypes, only=plan.kernels)
            before = {d: len(d.signatures) for d in _jit.REGISTRY}
            for command in ("step", "finish_pass", "finish_pass", "step"):
                session.execute(command)
            late = [d.__name__ for d in _jit.REGISTRY if len(d.signatures) != before[d]]
            print(lesson, late)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == [
        "vanishing_sigmoid []",
        "digits_cnn []",
        "lstm_gates []",
    ]


def test_a_recurrent_layer_warms_its_blocked_steps_only_where_its_shapes_take_them(monkeypatch):
    from types import SimpleNamespace

    from nnsim.kernels import product_choice

    monkeypatch.setattr(product_choice, "_own", False)
    monkeypatch.setattr(product_choice, "_own_few_rows", True)  # OpenBLAS, as on Zen 3

    def kernels(batch: int, hidden: int) -> tuple[str, ...]:
        layer = SimpleNamespace(kind="lstm", hidden=hidden)
        model = SimpleNamespace(leaves=lambda: [layer])
        run = SimpleNamespace(
            model=model, trainer=SimpleNamespace(stream=SimpleNamespace(batch_size=batch))
        )
        return warmup.kernels_for(run)

    assert "lstm (blocked)" in kernels(16, 128)  # product_nn's rows: blocked steps
    assert "lstm (blocked)" not in kernels(32, 128)  # more rows than FEW_ROWS: BLAS steps
    assert "lstm (blocked)" not in kernels(2, 16)  # small: the Numba loops over one row
    assert {"lstm", "lstm steps"} <= set(kernels(2, 16))

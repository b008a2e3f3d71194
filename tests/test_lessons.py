"""Every shipped lesson produces the phenomenon it promises (`nnsim verify`)."""

import pytest

from nnsim.scenario import lesson_sections, load, shipped_lessons
from nnsim.session import run_lesson

LESSONS = [path.stem for path in shipped_lessons()]


@pytest.mark.slow  # every lesson trained whole: 5-10 CPU-minutes, its own step in .ci/run
@pytest.mark.parametrize("name", LESSONS)
def test_lesson_keeps_its_promises(name):
    scenario = load(name)
    assert scenario.expectations, f"{name} promises nothing"
    assert len(scenario.text) > 400, f"{name} needs a text for the learner"
    result = run_lesson(scenario, breakpoints=False)
    failed = [r for r in result.expectations if not r.passed]
    assert not failed, failed


def test_lessons_are_listed_in_curriculum_order():
    sections = lesson_sections()
    titles = [title for title, _ in sections]
    assert titles == sorted(titles, key=lambda t: int(t.split(".")[0]) if t[0].isdigit() else 99)
    assert "Other scenarios" not in titles  # every shipped lesson has its place in the index


# Every lesson of CURRICULUM.md, in its order (keep in sync with it: the file lives outside
# the repository, so CI cannot read it).
CURRICULUM_LESSONS = [
    "perceptron", "xor_mlp", "backprop_by_hand", "linear_collapse", "mlp_digits",
    "activations", "zero_centred", "dead_relu",
    "losses", "gd_variants", "learning_rate", "shuffle",
    "vanishing_sigmoid", "vanishing_fixes", "exploding",
    "init_schemes", "batchnorm", "preprocessing",
    "optimizers_2d", "optimizers_digits",
    "overfitting", "regularization", "dropout", "early_stopping", "augmentation", "imbalance",
    "digits_cnn", "conv_by_hand", "param_count", "receptive_field", "pooling", "conv_backward",
    "cnn_visualize", "finetune",
    "architectures", "residual",
    "rnn_basics", "bptt", "lstm_gates", "long_memory", "gru", "char_lm", "seq2seq_attention",
    "gan_1d",
    "your_own_model",
]  # fmt: skip


def test_every_lesson_of_the_curriculum_is_shipped():
    assert len(CURRICULUM_LESSONS) == 45
    missing = sorted(set(CURRICULUM_LESSONS) - set(LESSONS))
    assert missing == []


def test_the_index_lists_the_curriculum_in_order():
    listed = [path.stem for _, paths in lesson_sections() for path in paths]
    assert listed == CURRICULUM_LESSONS

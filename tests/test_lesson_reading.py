"""What the learner reads beside the checks: each [[expect]]'s sentence (`says`), the
question to predict before stepping and its answer once the run has finished, and the few
lines of PyTorch behind a lesson (the `t` key, `nnsim lessons --pytorch`)."""

import json

import pytest
from training import XOR_DATA_AND_MODEL
from tui_driving import screen_lines, settle

from nnsim.cli import main
from nnsim.scenario import ScenarioError, load, shipped_lessons
from nnsim.session import Prediction, Session, run_lesson
from nnsim.tui.app import NnsimApp
from nnsim.tui.screens.main import MainScreen
from nnsim.tui.screens.pytorch import PyTorchScreen

LESSON = (
    """
[lesson]
title = "short"
text = "A short run."
predict = "Will the loss fall?"
answer = "Yes: the four points are separable by two tanh units."
pytorch = '''
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
'''
"""
    + XOR_DATA_AND_MODEL
    + """[train]
lr = 0.5
batch_size = 4
iterations = 3
[[expect]]
check = "loss < 100"
says = "The loss stays   finite: no blow-up."
"""
)


@pytest.fixture
def lesson(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(LESSON)
    return path


def test_a_lesson_reads_its_sentences_question_answer_and_snippet(lesson):
    scenario = load(lesson)
    assert scenario.expectations[0].says == "The loss stays finite: no blow-up."
    assert scenario.lesson.predict == "Will the loss fall?"
    assert scenario.lesson.answer.startswith("Yes")
    assert (
        scenario.lesson.pytorch
        == "model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))"
    )


@pytest.mark.parametrize("remove, key", [("answer = ", "predict"), ("predict = ", "answer")])
def test_a_question_without_its_answer_is_refused_where_it_is_written(tmp_path, remove, key):
    text = "\n".join(line for line in LESSON.splitlines() if not line.startswith(remove))
    path = tmp_path / "half.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert err.value.keys == ["lesson", key]
    assert err.value.line == next(
        i + 1 for i, line in enumerate(text.splitlines()) if line.startswith(f"{key} = ")
    )


def test_the_answer_stays_hidden_until_the_run_has_finished(lesson):
    session = Session.open(str(lesson))
    assert session.view().prediction == Prediction("Will the loss fall?", None)
    session.execute("step")
    assert session.view().prediction.answer is None
    session.execute("continue")
    assert session.view().prediction.answer.startswith("Yes")


def test_the_sentence_travels_with_its_judged_check(lesson):
    result = run_lesson(load(lesson))
    assert result.expectations[0].says == "The loss stays finite: no blow-up."
    assert result.expectations[0].as_dict()["says"] == "The loss stays finite: no blow-up."
    session = Session.open(str(lesson))
    session.execute("continue")
    assert session.view().expectations[0].says == "The loss stays finite: no blow-up."


def test_nnsim_run_prints_the_sentences_and_answers_the_question(capsys, lesson):
    assert main(["run", str(lesson)]) == 0
    out = capsys.readouterr().out
    assert "The loss stays finite: no blow-up." in out
    assert "Predict before you step: Will the loss fall?" in out
    assert "Answer: Yes: the four points" in out
    assert main(["run", str(lesson), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["prediction"] == {
        "question": "Will the loss fall?",
        "answer": "Yes: the four points are separable by two tanh units.",
    }
    assert report["expect"][0]["says"] == "The loss stays finite: no blow-up."


def test_a_run_a_breakpoint_paused_leaves_the_question_open(capsys, tmp_path, lesson):
    path = tmp_path / "paused.toml"
    path.write_text(lesson.read_text() + '\n[[breakpoints]]\nwhen = "iteration >= 1"\n')
    main(["run", str(path), "--json"])
    assert "prediction" not in json.loads(capsys.readouterr().out)


def test_the_samples_readme_shows_every_lessons_pytorch_snippet(capsys):
    from pathlib import Path

    main(["lessons", "--pytorch"])
    made = capsys.readouterr().out
    readme = (Path(__file__).parents[1] / "samples" / "README.md").read_text()
    assert made and made in readme, "run: nnsim lessons --pytorch, into samples/README.md"


async def test_the_lesson_pane_asks_then_answers_and_t_shows_the_pytorch(lesson):
    app = NnsimApp(str(lesson), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("l")  # at 120x40 the lesson takes its turn with the debugger
        await pilot.pause(0.2)
        drawn = "\n".join(screen_lines(app))
        assert "Predict before you step" in drawn and "Answer:" not in drawn
        await pilot.press("c")
        await settle(pilot, app)
        await pilot.pause(0.2)
        assert "Answer: Yes" in " ".join(" ".join(screen_lines(app)).split())
        await pilot.press("t")
        await pilot.pause(0.3)
        assert isinstance(app.screen, PyTorchScreen)
        assert "nn.Sequential(nn.Linear(2, 4)" in "\n".join(screen_lines(app))
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, MainScreen)


@pytest.mark.parametrize("name", [path.stem for path in shipped_lessons()])
def test_every_shipped_lesson_asks_answers_shows_its_pytorch_and_words_each_promise(name):
    scenario = load(name)
    lesson = scenario.lesson
    assert lesson.predict and lesson.answer, f"{name}: [lesson] predict and answer"
    assert lesson.pytorch, f"{name}: [lesson] pytorch"
    assert "Predict before you step" not in lesson.text, f"{name}: the question is `predict`"
    unworded = [e.check for e in scenario.expectations if not e.says]
    assert not unworded, f"{name}: these checks need says = '...': {unworded}"

"""The reports, the verdicts and the debugger's status and curves in Chinese (issue 20).

Each test names the interface strings it reads in Chinese and is skipped, saying so, while the
compiled catalogue lacks them (the helpers' translations are merged into nnsim.po and compiled
by the lead); English stays the default (tests/conftest.py resets it around every test)."""

import json
import math

import pytest
from rich.cells import cell_len
from tui_driving import screen_lines, settle

from nnsim.cli import main
from nnsim.i18n import _, set_language
from nnsim.sim.diagnostics import METRICS, Report, Thresholds, verdict_name


def needs_chinese(*english: str) -> None:
    """Skip the test while the compiled catalogue has no Chinese for one of ``english``."""
    set_language("zh")
    missing = [message for message in english if _(message) == message]
    set_language("en")
    if missing:
        pytest.skip(
            f"the compiled catalogue lacks the Chinese of {missing[0]!r}: merge the helpers' "
            "translations and run python -m nnsim.i18n.catalogue"
        )


# ---------------------------------------------------------------- nnsim run


def test_nnsim_run_lang_zh_prints_its_headings_columns_and_verdicts_in_chinese(capsys):
    needs_chinese(
        "layers after the last iteration",
        "what the lesson promises",
        "the lesson's runs",
        "verdict",
        "healthy",
        "{n} iterations, final loss {loss}",
    )
    assert main(["run", "xor_mlp", "--no-progress", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "最后一次迭代后的各层",  # the layer table
        "本课保证出现的现象",  # the promises
        "本课的各次运行",  # the runs of the lesson and its variant
        "诊断",  # the verdict column
        "训练准确率",
        "300 次迭代，最终损失",
        "单步之前先预测：",
    ):
        assert heading in out, heading
    assert "正常" in out  # every layer of the trained XOR network is healthy
    for english in ("layers after the last iteration", "healthy", "final loss"):
        assert english not in out


def test_nnsim_run_json_stays_english_in_chinese(capsys):
    """--json is a contract: its keys and its verdicts are data, whatever the language."""
    assert main(["run", "xor_mlp", "--json", "--iterations", "3", "--lang", "zh"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert {layer["verdict"] for layer in report["layers"]} <= {
        "healthy",
        "vanishing",
        "exploding",
        "saturated",
        "dead",
    }
    assert all(row["name"] for row in report["runs"])


# ---------------------------------------------------------------- verdicts


def _vanishing_report() -> Report:
    metrics = dict.fromkeys(METRICS, math.nan) | {"grad_norm": 1e-6, "weight_norm": 2.0}
    return Report(metrics, "vanishing", 1.0, Thresholds())


def test_a_verdict_and_its_explanation_read_in_chinese_and_follow_a_switch_of_language():
    needs_chinese("vanishing")
    report = _vanishing_report()
    english = report["explanation"]
    assert english.startswith("gradient norm 1e-06 is 1.0e-06 of the largest layer's")
    set_language("zh")
    assert verdict_name("vanishing") == "梯度消失" and report["verdict"] == "vanishing"
    assert report["explanation"] == (
        "梯度范数 1e-06 只有最大那层的 1.0e-06：这一层几乎学不动；"
        "ReLU、合适的初始化、批归一化或残差连接会有帮助"
    )
    set_language("en")
    assert report["explanation"] == english  # the one read before the switch was not kept


# ---------------------------------------------------------------- the debugger


def cells(line: str, start: int, end: int) -> str:
    """Columns [start, end) of a row of ``screen_lines`` (where a wide character is one
    character and two columns)."""
    columns = []
    for char in line:
        columns += [char] + [""] * (cell_len(char) - 1)
    return "".join(columns[start:end])


def region_rows(app, widget) -> list[str]:
    region = widget.content_region
    lines = screen_lines(app)
    return [cells(line, region.x, region.right) for line in lines[region.y : region.bottom]]


def _status_parts_whole(app) -> list[str]:
    """The status line's parts as drawn, each asserted on screen whole (a part is left out
    whole or shown whole, never cut, and no line ends in an ellipsis)."""
    from nnsim.tui.widgets.status import parts_of

    widget = app.screen.query_one("#status")
    drawn = region_rows(app, widget)
    assert not any(line.rstrip().endswith("…") and "正在运行" not in line for line in drawn)
    shown = [p.plain for p in parts_of(widget.text) if p.plain in " ".join(drawn)]
    return shown


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_debugger_status_and_curves_read_in_chinese_with_no_character_cut(size):
    needs_chinese(
        "iteration {n}/{total}",
        "iteration {n}/{total}, complete",
        "next: {arrow} {phase}",
        "batch",
        "loss {value}",
        "(curves appear after the first iteration)",
        "batch acc",
        "train {value}",
    )
    from nnsim.tui.app import NnsimApp

    set_language("zh")
    app = NnsimApp("xor_mlp", warm=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        if size == (80, 24):
            await pilot.press("g")  # the gradient flow and the curves take the screen
            await settle(pilot, app)
        shown = _status_parts_whole(app)
        assert "迭代 0/300" in shown and "下一步：• 批次" in shown
        curves = app.screen.query_one("#curves")
        assert "（第一次迭代之后出现曲线）" in "\n".join(region_rows(app, curves))
        flow = region_rows(app, app.screen.query_one("#gradflow"))
        assert "各层梯度范数，对数刻度" in "\n".join(flow)

        await pilot.press("c")  # the whole run
        await settle(pilot, app)
        shown = _status_parts_whole(app)
        assert "迭代 300/300，已完成" in shown
        assert any(part.startswith("损失 ") for part in shown)
        rows = [row.rstrip() for row in region_rows(app, curves)]
        titled = {row.split()[0]: row for row in rows if row.strip()}
        assert "损失" in titled and "批次准确率" in titled  # each curve's title whole
        assert "训练 100%" in titled["批次准确率"]  # the run's accuracies end the row
        assert all(cell_len(row) <= curves.content_region.width for row in rows)
        # the sparklines start in one column: the titles are padded by cells, not characters
        starts = {cell_len(row[: len(row) - len(row.lstrip())] + row.split()[0]) for row in rows}
        assert len(starts) == 1


# ---------------------------------------------------------------- notes and labels


def test_a_variant_label_is_english_data_and_reads_in_chinese_where_shown():
    needs_chinese("variant {name}")
    from nnsim.session import Session

    linear = Session.open("xor_mlp").variant("linear")
    set_language("zh")
    assert linear.label == "variant linear"  # what game screens and tests read
    assert json.dumps(linear.label) == '"variant linear"'
    assert f"{linear.label}" == "变体 linear"  # what a sentence shows


def test_a_check_not_reached_is_english_in_json_and_chinese_in_the_table(capsys, tmp_path):
    needs_chinese(
        "not reached: the run stopped at iteration {n} of {total} at {stop}",
        "Stopped at iteration {n} of {total}",
    )
    from nnsim.scenario import SAMPLES

    lesson = tmp_path / "xor_stopped.toml"
    text = (SAMPLES / "xor_mlp.toml").read_text(encoding="utf-8")
    lesson.write_text(text + '\n[[breakpoints]]\nwhen = "iteration == 5"\n', encoding="utf-8")
    assert main(["run", str(lesson), "--json", "--no-progress", "--lang", "zh"]) == 1
    notes = [e.get("note", "") for e in json.loads(capsys.readouterr().out)["expect"]]
    assert any(note.startswith("not reached: the run stopped at iteration 4 of") for note in notes)
    assert main(["run", str(lesson), "--no-progress", "--lang", "zh"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "停在第 4 次迭代" in out and "未到达：运行停在第 4 次迭代" in out
    assert "not reached" not in out

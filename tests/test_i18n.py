"""English and Chinese: how the language is chosen, lesson strings in both languages with
the fingerprint that shows a translation stale, and Chinese on the command line and on
screen without a character cut in half."""

import json

import pytest
from rich.cells import cell_len

from nnsim.cli import main
from nnsim.i18n import (
    LanguageError,
    Localized,
    choose_language,
    fingerprint,
    language,
    set_language,
)
from nnsim.i18n.lessons import translation_problems
from nnsim.scenario import ScenarioError, load, shipped_lessons
from nnsim.tui.widgets.lesson import wrap_cells


@pytest.mark.parametrize(
    "explicit, environ, chosen",
    [
        (None, {}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "zh_TW.UTF-8", "LC_ALL": "C.UTF-8"}, "en"),  # LC_ALL decides first
        (None, {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_GB.UTF-8"}, "zh"),
        (None, {"NNSIM_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ("zh", {"NNSIM_LANG": "en"}, "zh"),
    ],
)
def test_the_language_comes_from_the_flag_then_nnsim_lang_then_the_locale(
    explicit, environ, chosen
):
    assert choose_language(explicit, environ) == chosen


def test_a_language_nnsim_does_not_have_is_refused_by_name():
    with pytest.raises(LanguageError, match="NNSIM_LANG 'fr'.*en and zh"):
        choose_language(None, {"NNSIM_LANG": "fr"})


def test_a_plain_string_reads_the_same_in_both_languages_and_a_table_per_language():
    plain = Localized("loss")
    assert plain.get("zh") == plain.get("en") == "loss" and not plain.stale
    both = Localized("loss", "损失", fingerprint("loss"))
    assert both.get("zh") == "损失" and both.get("en") == "loss" and not both.stale
    set_language("zh")
    assert str(both) == "损失"


def test_a_translation_goes_stale_when_its_english_changes_but_not_when_it_is_reflowed():
    made_from = fingerprint("The loss falls\nin steps.")
    assert not Localized("The loss  falls in\nsteps.", "损失阶梯式下降。", made_from).stale
    assert Localized("The loss falls smoothly.", "损失阶梯式下降。", made_from).stale


LESSON = """
[lesson]
title.en = "Two layers"
title.zh = "两层"
title.zh_from = "{title}"
text = "Only English here."
predict = {{ en = "Will it learn?", zh = "它能学会吗？", zh_from = "{predict}" }}
answer = {{ en = "Yes: `tanh` bends it.", zh = "能：tanh 使之弯曲。", zh_from = "{answer}" }}
[data]
source = "logic"
kind = "xor"
[model]
layers = [ {{ type = "dense", units = 4, activation = "tanh" }}, {{ type = "dense", units = 2 }} ]
loss = "cross_entropy"
[train]
lr = 0.5
batch_size = 4
iterations = 2
[[variants]]
name = "linear"
title = {{ en = "no tanh", zh = "没有 tanh", zh_from = "0000000000" }}
replace_activation = ["tanh", "identity"]
[[expect]]
check = "loss < 100"
says.en = "The loss stays finite."
says.zh = "损失保持有限。"
says.zh_from = "{says}"
"""


@pytest.fixture
def lesson(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(
        LESSON.format(
            title=fingerprint("Two layers"),
            predict=fingerprint("Will it learn?"),
            answer=fingerprint("Yes: `tanh` bends it."),
            says=fingerprint("The loss stays finite."),
        )
    )
    return path


def test_a_lesson_reads_in_the_language_chosen(lesson):
    scenario = load(lesson)
    assert (scenario.title, scenario.lesson.predict) == ("Two layers", "Will it learn?")
    set_language("zh")
    assert (scenario.title, scenario.lesson.predict) == ("两层", "它能学会吗？")
    assert scenario.text == "Only English here."  # not translated: the English stays
    assert scenario.expectations[0].says == "损失保持有限。"
    assert str(scenario.variant_titles["linear"]) == "没有 tanh"


def test_stale_missing_and_lacking_translations_are_each_named(lesson):
    problems = {p.where: p.problem for p in translation_problems(load(lesson))}
    assert problems["lesson.text"] == "missing"
    assert problems["variants.linear.title"].startswith("stale")
    assert problems["lesson.answer"] == "the Chinese lacks `tanh`"
    assert "lesson.title" not in problems and "expect[0].says" not in problems


def test_nnsim_translations_lists_them_and_fails(capsys, lesson):
    assert main(["translations", str(lesson), "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    stale = next(r for r in rows if r["where"] == "variants.linear.title")
    assert stale["english_fingerprint"] == fingerprint("no tanh")


def test_a_translation_table_with_an_unknown_key_is_refused_where_it_is(tmp_path, lesson):
    path = tmp_path / "bad.toml"
    path.write_text(lesson.read_text().replace('title.zh = "两层"', 'title.zn = "两层"'))
    with pytest.raises(ScenarioError, match="unknown key 'zn'") as err:
        load(path)
    assert err.value.keys == ["lesson", "title", "zn"]


def test_the_default_is_english_and_lang_zh_gives_chinese_reports(capsys, lesson, monkeypatch):
    for variable in ("NNSIM_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["run", str(lesson), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Two layers" in out and "The loss stays finite." in out and "两层" not in out
    assert main(["run", str(lesson), "--no-progress", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "两层" in out and "损失保持有限。" in out and "它能学会吗？" in out
    assert language() == "zh"


def test_wrapping_by_cells_never_overflows_and_never_splits_a_character():
    text = "有了 tanh 隐藏层，异或的四个点全都落在正确的一侧。 Without the activation, one map."
    for width in (10, 11, 16, 33):
        lines = wrap_cells(text, width)
        assert all(cell_len(line) <= width for line in lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")


async def test_the_palette_switches_the_lesson_to_chinese_and_back():
    from tui_driving import screen_lines, settle

    from nnsim.tui.app import NnsimApp

    app = NnsimApp("xor_mlp", warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("l")  # the lesson takes its turn with the debugger at 120x40
        await pilot.pause(0.2)
        assert "A hidden layer solves XOR" in "\n".join(screen_lines(app))
        await app.run_action("language('zh')")
        await pilot.pause(0.3)
        drawn = "\n".join(screen_lines(app))
        assert "隐藏层解决异或问题" in drawn and "异或至少需要几个隐藏单元" in drawn
        await app.run_action("language('en')")
        await pilot.pause(0.3)
        assert "A hidden layer solves XOR" in "\n".join(screen_lines(app))


def test_the_interface_catalogue_holds_every_marked_string_translated_and_compiled():
    pytest.importorskip("babel", reason="Babel (a test dependency) reads the catalogue")
    from nnsim.i18n import catalogue

    assert catalogue.problems() == [], "run: python -m nnsim.i18n.catalogue, then translate"


def test_marked_strings_come_out_in_chinese():
    from nnsim.i18n import _

    set_language("zh")
    assert _("What this lesson promises") == "本课保证出现的现象"
    set_language("en")
    assert _("What this lesson promises") == "What this lesson promises"


def test_chinese_wraps_between_characters_not_only_at_spaces():
    from rich._wrap import divide_line
    from textual._wrap import compute_wrap_offsets

    from nnsim.tui import cjk

    assert cjk.install()
    text = "这里的四个 tanh 单元各画一条直线；输出层把它们的半平面组合起来。在隐藏层自己的坐标里。"
    for cuts in (divide_line(text, 20), compute_wrap_offsets(text, 20, 4)):  # Rich, Textual
        cuts = [0, *cuts, len(text)]
        lines = [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
        assert "".join(lines) == text
        assert all(19 <= cell_len(line.rstrip()) <= 20 for line in lines[:-1])  # not ragged
    english = "a few English words that wrap at spaces only"
    cuts = [0, *divide_line(english, 12), len(english)]
    pieces = [english[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False)]
    assert " ".join(pieces).split() == english.split()  # no English word is cut


async def test_the_lesson_pane_fills_its_lines_with_chinese():
    from tui_driving import screen_lines, settle

    from nnsim.tui.app import NnsimApp

    set_language("zh")
    app = NnsimApp("xor_mlp", warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        pane = app.screen.query_one("#lesson")
        left, width = pane.content_region.x, pane.content_region.width
        rows = [line[left : left + width].strip() for line in screen_lines(app)]
        chinese = [row for row in rows if row.startswith(("异或", "(1,0)", "隐藏层改变"))]
        assert chinese, rows
        second = next(row for row in rows if row.startswith("隐藏层改变了这一点"))
        # its Chinese goes on after "tanh" on the same line, instead of jumping whole to the next
        assert "tanh 单元" in second and cell_len(second) >= width - 8, second


def test_chinese_source_lines_join_but_code_lists_and_quotes_stay_apart():
    from nnsim.tui.widgets.lesson import join_wide_lines

    code = "    g = 门\n    c = 细胞\n\n```\n门\n控\n```\n段落。"
    markdown = "第一行，\n接着写。\n- 列表一\n- 列表二\n\n" + code
    assert join_wide_lines(markdown) == "第一行，接着写。\n- 列表一\n- 列表二\n\n" + code


def test_no_wrapped_line_starts_with_a_chinese_comma_or_ends_with_an_open_bracket():
    from rich._wrap import divide_line

    from nnsim.tui import cjk

    assert cjk.install()
    text = "网络通过把损失的梯度逐层向后传递来学习。每经过一个 sigmoid 层，"
    text += "梯度都要乘上（导数），变小。"
    for width in range(12, 40):
        cuts = [0, *divide_line(text, width), len(text)]
        lines = [text[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False)]
        assert not any(line[:1] in cjk.CLOSING for line in lines[1:]), (width, lines)
        assert not any(line[-1:] in cjk.OPENING for line in lines), (width, lines)


@pytest.mark.parametrize("name", [path.stem for path in shipped_lessons()])
def test_every_shipped_lesson_is_in_chinese_and_no_translation_is_stale(name):
    problems = [str(p) for p in translation_problems(load(name))]
    assert not problems, f"{name}: run nnsim translations {name}: {problems}"


async def test_a_screenshot_names_chinese_fonts_after_fira_code():
    from nnsim.tui.app import NnsimApp

    set_language("zh")
    app = NnsimApp("xor_mlp", warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        svg = app.export_screenshot()
    assert "'Noto Sans Mono CJK SC'" in svg and "font-family: Fira Code, monospace;" not in svg

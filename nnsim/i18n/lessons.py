"""Which of a lesson's strings are translated, and which translations went stale or lost what
must stay the same in both languages: `code` spans, variant and metric names, numbers.

    for problem in translation_problems(load("xor_mlp")):
        print(problem)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import Localized, fingerprint

CODE = re.compile(r"`([^`\n]+)`")
SNAKE = re.compile(r"(?<![\w`])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w`])")  # grad_norm, clip_value
NUMBER = re.compile(r"(?<![\w.])(?:\d+\.\d+|\d+e-?\d+|\d{2,})(?![\w])")  # 0.25, 1e-6, 200


@dataclass(frozen=True)
class Translatable:
    """One learner-facing string of a lesson: where it is in the file, and its languages."""

    where: str  # e.g. "lesson.text", "expect[2].says", "variants.relu.title"
    texts: Localized


@dataclass(frozen=True)
class TranslationProblem:
    where: str
    problem: str  # "missing", "stale", or what differs between the two languages
    english_fingerprint: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem} (zh_from = {self.english_fingerprint!r})"


def translatables(scenario) -> list[Translatable]:
    """Every string of ``scenario`` a learner reads, in file order."""
    lesson = scenario.lesson
    found = [
        Translatable("lesson.title", lesson.localized_title),
        Translatable("lesson.text", lesson.localized_text),
        Translatable("lesson.predict", lesson.localized_predict),
        Translatable("lesson.answer", lesson.localized_answer),
    ]
    for name, title in scenario.localized_variant_titles.items():
        if title.en != name or title.zh is not None:  # an untitled variant shows its name
            found.append(Translatable(f"variants.{name}.title", title))
    for i, expectation in enumerate(scenario.expectations):
        found.append(Translatable(f"expect[{i}].says", expectation.localized_says))
    return [t for t in found if t.texts.en]


def kept_tokens(text: str, names: set[str]) -> set[str]:
    """What a translation must keep as it is: code spans, snake_case identifiers (metrics,
    options), the lesson's variant and layer names in italics, and numbers."""
    tokens = {f"`{span}`" for span in CODE.findall(text)}
    prose = CODE.sub(" ", text)
    tokens |= set(SNAKE.findall(prose))
    tokens |= {f"*{name}*" for name in names if f"*{name}*" in prose}
    tokens |= set(NUMBER.findall(prose))
    return tokens


def translation_problems(scenario, require: bool = True) -> list[TranslationProblem]:
    """Each string without Chinese (when ``require``), with a stale Chinese, or whose Chinese
    lost a code span, a name or a number of the English."""
    names = set(scenario.variant_titles)
    problems = []
    for item in translatables(scenario):
        texts, made_from = item.texts, fingerprint(item.texts.en)
        if texts.zh is None:
            if require:
                problems.append(TranslationProblem(item.where, "missing", made_from))
            continue
        if texts.stale:
            problems.append(
                TranslationProblem(item.where, "stale: the English changed since", made_from)
            )
        lost = kept_tokens(texts.en, names) - kept_tokens(texts.zh, names)
        if lost:
            lacks = "the Chinese lacks " + ", ".join(sorted(lost))
            problems.append(TranslationProblem(item.where, lacks, made_from))
    return problems

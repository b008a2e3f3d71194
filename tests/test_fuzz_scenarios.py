"""Damaged scenario files, as a careless or hostile user writes them: each loads, or is refused
with a ScenarioError that starts with the file's path and says where (a line or a key path);
never another exception, never a hang; `nnsim run` of one exits 2 without a traceback.

The damage is seeded and bounded (a few hundred files, a few seconds): keys deleted, retyped,
renamed, given huge, negative or non-finite numbers, nested hundreds deep; lines duplicated;
the file truncated or sprinkled with random bytes; conditions made deep or long.
"""

from __future__ import annotations

import json
import random
import re
import tomllib
from pathlib import Path

import pytest

from nnsim.cli import main
from nnsim.scenario import SAMPLES, ScenarioError, load, shipped_lessons

CASES = 240  # damaged files in the ordinary suite
SEED = 17


# ---------------------------------------------------------------- writing TOML back


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _inline(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value).replace("inf", "inf").replace("nan", "nan")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def dumps(raw: dict) -> str:
    """TOML text of a parsed scenario: each top-level table a [header], arrays of tables as
    [[headers]], everything below written inline."""
    lines = [f"{_key(k)} = {_inline(v)}" for k, v in raw.items() if not _is_table(v)]
    for name, value in raw.items():
        if isinstance(value, dict):
            lines.append(f"\n[{_key(name)}]")
            lines += [f"{_key(k)} = {_inline(v)}" for k, v in value.items()]
        elif _is_table(value):
            for item in value:
                lines.append(f"\n[[{_key(name)}]]")
                lines += [f"{_key(k)} = {_inline(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _is_table(value) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


# ---------------------------------------------------------------- damage


def _paths(value, prefix=()):
    """Every (key path) inside a parsed value, containers included."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        found.append((*prefix, key))
        if isinstance(child, dict | list):
            found += _paths(child, (*prefix, key))
    return found


def _parent(raw, path):
    for key in path[:-1]:
        raw = raw[key]
    return raw


_HUGE = [10**9, 10**12, 2**62, 1e9, 1e300, float("inf"), float("nan"), 10**6]
_NEGATIVE = [-1, -(10**9), -0.5, float("-inf"), 0, 0.5, 2.5]
_OTHERS = ["", "x", "relu", True, False, [], {}, [1, 2], {"type": "dense"}, 3, 0.1, "1e9"]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


_CONDITIONS = [
    "(" * 200 + "loss > 1" + ")" * 200,
    "not " * 1200 + "loss > 1",
    " and ".join(["loss > 1"] * 1500),
    " + ".join(["loss"] * 2000) + " > 1",
    "- " * 1500 + "loss > 1",
    "loss >",
    "grad_norm(nope) > 1",
    "val_loss > 1",
    "val_accuracy < 2",
    "nonfinite() > 1",
    "loss and 3",
    "",
    "loss > 1e999999",
    "((((loss))))) > 1",
    "loss # 1",
]


def damage(text: str, rng: random.Random) -> tuple[str, str]:
    """(what was done, the damaged text) of one scenario text."""
    raw = tomllib.loads(text)
    kind = rng.choice(
        [
            "delete",
            "retype",
            "huge",
            "negative",
            "rename",
            "unknown",
            "duplicate_line",
            "truncate",
            "bytes",
            "deep",
            "condition",
        ]
    )
    paths = _paths(raw)
    path = rng.choice(paths)
    parent, last = _parent(raw, path), path[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "retype":
        parent[last] = rng.choice(_OTHERS)
    elif kind in ("huge", "negative"):
        numbers = [p for p in paths if isinstance(_parent(raw, p)[p[-1]], int | float)]
        if numbers:
            path = rng.choice(numbers)
            parent, last = _parent(raw, path), path[-1]
        parent[last] = rng.choice(_HUGE if kind == "huge" else _NEGATIVE)
    elif kind == "rename" and isinstance(parent, dict):
        parent[str(last) + rng.choice(["s", "_", "x"])] = parent.pop(last)
    elif kind == "unknown" and isinstance(parent, dict):
        parent["surprise"] = rng.choice(_OTHERS)
    elif kind == "duplicate_line":
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return f"{kind} line {i + 1}", "".join(lines)
    elif kind == "truncate":
        cut = rng.randrange(len(text))
        return f"{kind} at {cut}", text[:cut]
    elif kind == "bytes":
        data = bytearray(text.encode())
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, data.decode("utf-8", errors="surrogateescape")
    elif kind == "deep":
        depth = rng.choice([100, 300, 600, 2000])
        line = f"nested = {_deep(depth)}\n"
        return f"{kind} {depth}", line + text if rng.random() < 0.5 else text + "\n" + line
    elif kind == "condition":
        where = [("expect", "check"), ("breakpoints", "when")]
        table, key = rng.choice(where)
        entries = raw.setdefault(table, [])
        if not entries or rng.random() < 0.3:
            entries.append({})
        rng.choice(entries)[key] = rng.choice(_CONDITIONS)
        return f"{kind} {table}.{key}", dumps(raw)
    return f"{kind} {'.'.join(map(str, path))}", dumps(raw)


def damaged_cases(count: int, seed: int = SEED) -> list[tuple[str, str, str]]:
    """(lesson name, what was done, damaged text) of ``count`` seeded damages."""
    rng = random.Random(seed)
    lessons = shipped_lessons()
    cases = []
    for _ in range(count):
        lesson = rng.choice(lessons)
        what, text = damage(lesson.read_text(encoding="utf-8"), rng)
        cases.append((lesson.stem, what, text))
    return cases


def write_case(folder: Path, index: int, text: str) -> Path:
    """The damaged text as a file beside what the lessons read (pretrained/ weights)."""
    for entry in SAMPLES.iterdir():
        link = folder / entry.name
        if not entry.name.endswith(".toml") and not link.exists():
            link.symlink_to(entry)
    path = folder / f"case{index}.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return path


def outcome(path: Path) -> tuple[str, str]:
    """("loaded" | "refused" | "unlocated" | "traceback", the message)."""
    try:
        load(path)
    except ScenarioError as err:
        located = str(err).startswith(str(path)) and (err.line is not None or bool(err.keys))
        return ("refused" if located else "unlocated"), str(err)
    except Exception as err:  # what the fuzzer looks for
        return "traceback", f"{type(err).__name__}: {err}"[:300]
    return "loaded", ""


# ---------------------------------------------------------------- the tests


def test_damaged_scenarios_load_or_say_where_they_are_wrong(tmp_path):
    bad = []
    counts = {"loaded": 0, "refused": 0, "unlocated": 0, "traceback": 0}
    for i, (lesson, what, text) in enumerate(damaged_cases(CASES)):
        kind, message = outcome(write_case(tmp_path, i, text))
        counts[kind] += 1
        if kind in ("unlocated", "traceback"):
            bad.append(f"{lesson} ({what}): {kind}: {message}")
    assert not bad, f"{counts}\n" + "\n".join(bad)
    assert counts["refused"] > CASES // 3  # the damage is real: most files are refused


def test_the_writer_gives_back_every_lesson_unchanged():
    for lesson in shipped_lessons():
        raw = tomllib.loads(lesson.read_text(encoding="utf-8"))
        assert tomllib.loads(dumps(raw)) == raw or _has_nan(raw), lesson.stem


def _has_nan(value) -> bool:
    if isinstance(value, float):
        return value != value
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: "x = " + _deep(600) + "\n" + t, "nested too deeply"),
        (lambda t: t.replace("n_per_class = 100", "n_per_class = 10000000000"), "memory"),
        (lambda t: t.replace("units = 32", "units = 1000000000"), "memory"),
        (lambda t: t.replace("units = 32", "units = 32, repeat = 1000000000"), "repeat"),
        (lambda t: t + '\n[[expect]]\ncheck = "' + "(" * 500 + "loss > 1" + ")" * 500 + '"\n',
         "nested deeper than 64 levels"),
        (lambda t: t + '\n[[expect]]\ncheck = "' + "not " * 1000 + 'loss > 1"\n',
         "nested deeper than 64 levels"),
        (lambda t: t + '\n[[expect]]\ncheck = "' + " or ".join(["loss > 1"] * 1000) + '"\n',
         "terms"),
        (lambda t: t.encode() + b"\n# \xff\xfe\n", "not UTF-8"),
    ],
    ids=["toml", "data", "units", "repeat", "parentheses", "nots", "terms", "bytes"],
)  # fmt: skip
def test_nnsim_run_of_a_damaged_file_exits_2_without_a_traceback(tmp_path, capsys, edit, message):
    text = (SAMPLES / "vanishing_sigmoid.toml").read_text(encoding="utf-8")
    damaged = edit(text)
    path = tmp_path / "damaged.toml"
    if isinstance(damaged, bytes):
        path.write_bytes(damaged)
    else:
        path.write_text(damaged, encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"nnsim run: {path}")
    assert message in err


@pytest.mark.parametrize(
    "watch",
    ["(" * 200 + "loss" + ")" * 200, "not " * 1000 + "loss > 1", " + ".join(["loss"] * 1000)],
    ids=["parentheses", "nots", "terms"],
)
def test_a_deep_or_long_watch_exits_2_without_a_traceback(capsys, watch):
    assert main(["run", "perceptron", "--iterations", "1", "--watch", watch]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("nnsim run: --watch")
    assert "nested deeper than 64 levels" in err or "more than 256 terms" in err

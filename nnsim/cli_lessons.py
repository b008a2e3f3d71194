"""`nnsim lessons`, `nnsim metrics` and `nnsim translations`: what the shipped lessons, the
condition language and the lessons' Chinese hold, listed without training anything."""

from __future__ import annotations

import json

from .cli import resolve

METRICS_DOC_HEADER = """# What conditions can read

Checks (`[[expect]]`), breakpoints and `nnsim run --watch` are written in nnsim's condition
language: names from this table, numbers, `+ - * /`, comparisons, `and`, `or`, `not` and
parentheses; `VARIANT.name` reads a lesson variant's run (checks only). A scenario naming
something its kind does not measure is refused when it loads. This page is generated from the
metric registry (`nnsim/sim/registry.py`) by `nnsim metrics --markdown`.

"""


def cmd_metrics(args) -> int:
    from .session import metric_rows, metric_table

    kind = args.kind
    if args.json:
        print(json.dumps(metric_rows(kind)))
    elif args.markdown:
        print(METRICS_DOC_HEADER + metric_table(kind, markdown=True))
    else:
        print(metric_table(kind, markdown=False))
    return 0


def cmd_lessons(args) -> int:
    from .scenario import lesson_listing

    entries = [
        {
            "name": e.name,
            "title": e.title,
            "path": str(e.path),
            "section": e.section,
            "pytorch": e.pytorch,
        }
        for e in lesson_listing()
    ]
    if args.pytorch:
        print(pytorch_markdown(entries), end="")
    elif args.json:
        print(json.dumps(entries, ensure_ascii=False))
    else:
        section = None
        for entry in entries:
            if entry["section"] != section:
                section = entry["section"]
                print(f"\n{section}")
            print(f"  {entry['name']:22s} {entry['title']}")
    return 0


def pytorch_markdown(entries: list[dict]) -> str:
    """Each lesson's few lines of PyTorch under its name and title, in curriculum order."""
    out = []
    for entry in entries:
        if entry["pytorch"]:
            out.append(f"### `{entry['name']}`: {entry['title']}\n\n")
            out.append(f"```python\n{entry['pytorch']}\n```\n\n")
    return "".join(out)


def cmd_translations(args) -> int:
    from .i18n.lessons import translation_problems
    from .scenario import load as load_scenario
    from .scenario import shipped_lessons

    paths = [resolve(s) for s in args.scenarios] or shipped_lessons()
    found = []
    for path in paths:
        for problem in translation_problems(load_scenario(path), require=not args.stale_only):
            found.append({"lesson": path.stem, **problem.__dict__})
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
    else:
        for row in found:
            print(
                f"{row['lesson']} {row['where']}: {row['problem']} "
                f'(the English now: zh_from = "{row["english_fingerprint"]}")'
            )
        print(f"{len(found)} translation problem(s) in {len(paths)} lesson(s)")
    return 1 if found else 0

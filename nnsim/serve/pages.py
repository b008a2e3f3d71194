"""The few pages and messages the classroom server shows itself, in English and Chinese.

They are kept here rather than in the gettext catalogue: they belong to the server alone, and a
refused student should read them in the language the URL asked for whatever the server's own.
"""

from __future__ import annotations

import html

from aiohttp import web

TEXTS: dict[str, dict[str, str]] = {
    "denied": {"en": "This lesson needs its access token", "zh": "需要访问令牌"},
    "denied_body": {
        "en": "The address you opened has no token, or a wrong one. Use the full link your "
        "teacher gave you: it ends in ?token=...",
        "zh": "你打开的地址缺少令牌或令牌不对。请使用老师给的完整链接(以 ?token=... 结尾)。",
    },
    "full": {"en": "The class is full", "zh": "教室已满"},
    "full_body": {
        "en": "All {count} places are taken. Try again in a minute: this page tries by "
        "itself every minute.",
        "zh": "{count} 个位置都已占用。请一分钟后再试:本页每分钟会自动重试。",
    },
    "unknown_lesson": {
        "en": "There is no lesson called {name!r}: choose one from the list.",
        "zh": "没有名为 {name!r} 的课程:请从列表中选择。",
    },
    "exposed": {
        "en": "nnsim serve: warning: listening on {host}, not only on this machine: anyone who "
        "can reach it and has the link can open sessions (the token is sent in clear over "
        "http). Beyond a lab network, put it behind the school's reverse proxy with https.",
        "zh": "nnsim serve:警告:正在 {host} 上监听,不只本机可以访问:任何能连到它并拿到链接的人"
        "都能打开会话(令牌经 http 明文传送)。在实验室网络之外,请放在学校的 https 反向代理之后。",
    },
}


def text(key: str, language: str) -> str:
    """The message ``key`` in ``language`` (English if it has no translation)."""
    messages = TEXTS[key]
    return messages.get(language, messages["en"])


def page(status: int, title: str, body: str, retry_seconds: int | None = None) -> web.Response:
    """A small HTML page with ``status``; with ``retry_seconds`` it reloads itself then."""
    refresh = f'<meta http-equiv="refresh" content="{retry_seconds}">' if retry_seconds else ""
    document = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{refresh}'
        f"<title>nnsim: {html.escape(title)}</title></head>"
        '<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(body)}</p></body></html>"
    )
    headers = {"Retry-After": str(retry_seconds)} if retry_seconds else None
    return web.Response(status=status, text=document, content_type="text/html", headers=headers)

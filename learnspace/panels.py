"""Page panels: a package higher in the layers adds a part to a page of a lower package, which never imports it.

A page names its slots (``"lesson.after_player"``, ``"space.main"`` …). A package that wants a part
there registers, at app start, a function of the page's subjects (viewer, lesson, owner …) that
returns the panel's HTML, or None to add nothing; the page's view asks for the slot's HTML and
places it. So the lesson page shows the viewer's study panel and the comment thread without
lessons importing study or comments.
"""
from __future__ import annotations

from typing import Callable

from flask import current_app
from markupsafe import Markup

Renderer = Callable[..., str | None]


def register(app, slot: str, render: Renderer) -> None:
    """Add *render* to *slot* of *app* (panels appear in the order they were registered)."""
    renderers = app.extensions.setdefault("learnspace.panels", {}).setdefault(slot, [])
    if render not in renderers:
        renderers.append(render)


def render(slot: str, **subjects) -> Markup:
    """Return the HTML of every panel registered for *slot*, given the page's subjects."""
    renderers = current_app.extensions.get("learnspace.panels", {}).get(slot, ())
    return Markup("").join(Markup(html) for html in (r(**subjects) for r in renderers) if html)

"""The base of every form: WTForms' own messages in Chinese (a length or choice error a pupil can read)."""
from __future__ import annotations

from functools import cache

from flask_wtf import FlaskForm
from wtforms.i18n import get_translations


@cache
def _chinese(locales: tuple[str, ...]):
    return get_translations(list(locales))  # read the .mo once per process, not per form


class Form(FlaskForm):
    """A FlaskForm whose built-in validator messages are WTForms' zh translations, not English."""

    class Meta:
        locales = ("zh",)

        def get_translations(self, form):
            # Flask-WTF's own i18n needs Flask-Babel, which we do not use; WTForms ships the zh catalogue.
            return _chinese(self.locales)

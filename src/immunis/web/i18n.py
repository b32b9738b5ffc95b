"""The pages' languages: Vietnamese and English, chosen by a cookie, default from settings.

Messages are written in English in the templates and code; `locale/vi/LC_MESSAGES/messages.po`
holds their Vietnamese. The .po file is the only file kept: it is compiled in memory when first
used, so there is no build step and no binary .mo file to keep in step with it (docs/web.md).
"""

from __future__ import annotations

import gettext
from datetime import date
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
COOKIE = "immunis_lang"
# English dates in the day-month order Viet Nam writes them ("5 June 2026").
_FORMAT_LOCALES = {"vi": Locale("vi"), "en": Locale("en", "GB")}


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; translated where it is shown."""
    return message


def choose_language(cookie: str | None, default: str) -> str:
    """The language asked for by the cookie if immunis speaks it, else the default (else vi)."""
    for candidate in (cookie, default):
        if candidate in LANGUAGES:
            return candidate
    return "vi"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The message catalog of `language` (English is the messages themselves)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def format_day(day: date | None, language: str, style: str = "long") -> str:
    """A date as people of that language write it; "long": 5 June 2026, "short": 05/06/2026."""
    if day is None:
        return ""
    pattern = "dd/MM/y" if style == "short" else "long"
    return babel_format_date(day, pattern, locale=_FORMAT_LOCALES[language])


def format_number(value: float | int | None, language: str, digits: int = 0) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + (("." + "0" * digits) if digits else "")
    return format_decimal(value, pattern, locale=_FORMAT_LOCALES[language])


def format_figure(value: float, language: str) -> str:
    """A figure with the decimals it has, up to three, as the language writes it: "0,5" in
    Vietnamese, "0.5" in English (a chart's axis and tiles)."""
    return format_decimal(value, "#,##0.###", locale=_FORMAT_LOCALES[language])

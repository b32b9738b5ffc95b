"""The Vietnamese catalog covers every message the pages show, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from immunis.safety.service import list_terms
from immunis.web import i18n

WEB = Path(i18n.__file__).parent
CATALOG = WEB / "locale" / "vi" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _shown_messages() -> set[str]:
    """Every message of the templates and page code, as `pybabel extract` finds them."""
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(WEB), method_map, options_map=options, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog():  # type: ignore[no-untyped-def]
    with CATALOG.open("rb") as po:
        return read_po(po, locale="vi")


def test_every_message_shown_has_a_vietnamese_translation() -> None:
    catalog = _catalog()
    untranslated = sorted(
        m for m in _shown_messages() if not (catalog.get(m) and catalog.get(m).string)
    )
    assert untranslated == []


def test_translations_keep_the_placeholders_of_their_message() -> None:
    for message in _catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, message.id


def test_every_reaction_a_parent_can_tick_has_a_vietnamese_name() -> None:
    vietnamese = i18n.translations("vi")
    assert [t.name for t in list_terms() if vietnamese.gettext(t.name) == t.name] == []


def test_english_is_the_messages_themselves() -> None:
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    assert i18n.translations("vi").gettext("Sign in") == "Đăng nhập"

"""Messages as people read them: Jinja2 templates per message kind and language, dates written
the way each language writes them (Babel), and a line of public education per vaccine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from immunis.education import service as education

LANGUAGES = ("vi", "en")
# "ngày 5 tháng 3 năm 2026", as Vietnamese letters and forms write a date; "5 March 2026".
DATE_PATTERNS = {"vi": "'ngày' d 'tháng' M 'năm' y", "en": "d MMMM y"}
REMINDER_TEMPLATES = {"due_soon": "reminder-due-soon", "overdue": "reminder-overdue"}


class UnknownTemplate(LookupError):
    """No template for this message kind in this language."""


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str  # the first line: an SMS starts with it, an email uses it as its subject
    body: str


def long_date(value: date | str, language: str) -> str:
    """A date in words: ``ngày 5 tháng 3 năm 2026`` (vi) or ``5 March 2026`` (en)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format=DATE_PATTERNS[language], locale=language)


@cache
def _environment(language: str) -> Environment:
    environment = Environment(
        loader=PackageLoader("immunis.outreach", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        autoescape=False,  # plain text for SMS and email bodies, never HTML
        keep_trailing_newline=False,
    )
    environment.filters["longdate"] = lambda value: long_date(value, language)
    return environment


def booking_url(base_url: str, person_id: str, site_id: str | None) -> str:
    """The page where the person (or their guardian) books the visit."""
    query = {"person": person_id, **({"site": site_id} if site_id else {})}
    return f"{base_url.rstrip('/')}/book?{urlencode(query)}"


def vaccines_in_words(doses: list[dict[str, Any]], language: str) -> list[dict[str, str | None]]:
    """Each due vaccine once (a 5-in-1 dose is due for several groups), by name, with its line
    of public education."""
    seen: dict[str, dict[str, str | None]] = {}
    for dose in doses:
        key = dose.get("vaccine")
        name = education.vaccine_name(key, language, fallback=dose["vaccine_group"])
        seen.setdefault(
            key or dose["vaccine_group"],
            {"name": name, "line": education.reminder_line(key, language)},
        )
    return list(seen.values())


def render(template: str, payload: dict[str, Any], language: str) -> RenderedMessage:
    """The message `template` with `payload`, in `language` (vi or en)."""
    if language not in LANGUAGES:
        raise UnknownTemplate(f"no messages in language {language!r}")
    try:
        chosen = _environment(language).get_template(f"{template}.{language}.txt")
    except TemplateNotFound as error:
        raise UnknownTemplate(f"no template {template!r} in {language!r}") from error
    context = dict(payload)
    if "doses" in payload:
        context["vaccines"] = vaccines_in_words(payload["doses"], language)
    subject, _, body = chosen.render(context).strip().partition("\n")
    return RenderedMessage(subject.strip(), body.strip())

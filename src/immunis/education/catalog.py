"""The public-education content per vaccine: YAML files in `content/`, loaded into frozen
dataclasses (pure: the loader takes bytes; `shipped_vaccines` reads the package's files once)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from immunis.schedule.model import normalize_cvx

LANGUAGES = ("vi", "en")
TEXT_FIELDS = ("name", "prevents", "reactions", "seek_care", "reminder")


class ContentError(ValueError):
    """A content file that does not say what the catalog needs."""


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class VaccineText:
    """One language's texts about a vaccine."""

    name: str
    prevents: str
    reactions: str
    seek_care: str
    reminder: str  # one short line, for reminder messages


@dataclass(frozen=True, slots=True)
class VaccineInfo:
    key: str
    vaccine_groups: tuple[str, ...]  # the groups this content speaks for when no CVX is known
    cvx: tuple[str, ...]
    sources: tuple[Source, ...]
    texts: Mapping[str, VaccineText]

    def text(self, language: str) -> VaccineText:
        return self.texts[language]


def _required(data: Mapping[str, Any], name: str, where: str) -> Any:
    value = data.get(name)
    if value in (None, "", []) and name != "vaccine_groups":
        raise ContentError(f"{where}: `{name}` is missing")
    return value


def parse_vaccine(data: bytes, where: str = "content") -> VaccineInfo:
    """One content file's YAML as a VaccineInfo; ContentError names what is wrong."""
    document = yaml.safe_load(data)
    if not isinstance(document, dict):
        raise ContentError(f"{where}: not a YAML mapping")
    key = str(_required(document, "key", where))
    sources = tuple(
        Source(title=str(_required(s, "title", f"{where} source")), url=s.get("url"))
        for s in _required(document, "sources", where)
    )
    texts = {}
    for language in LANGUAGES:
        section = _required(document, language, where)
        texts[language] = VaccineText(
            **{
                name: " ".join(str(_required(section, name, f"{where} {language}")).split())
                for name in TEXT_FIELDS
            }
        )
    return VaccineInfo(
        key=key,
        vaccine_groups=tuple(document.get("vaccine_groups") or ()),
        cvx=tuple(normalize_cvx(str(c)) for c in _required(document, "cvx", where)),
        sources=sources,
        texts=texts,
    )


@cache
def shipped_vaccines() -> dict[str, VaccineInfo]:
    """Every content file shipped in the package, by key, in key order."""
    folder = resources.files("immunis.education") / "content"
    found = [
        parse_vaccine(entry.read_bytes(), entry.name)
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    ]
    return {info.key: info for info in sorted(found, key=lambda info: info.key)}

"""Reading what a visitor typed into a form, with a message per field for what is wrong.

A form that fails is shown again with every value as typed and each message beside its field;
the messages are written for the person at the form, in their language, never a validator's.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, QueryParams


class Form:
    """What was sent, and what is wrong with it (field name -> message)."""

    def __init__(self, data: FormData | QueryParams | dict[str, str]) -> None:
        self._data = data
        self.values: dict[str, str] = {
            name: value.strip() for name, value in data.items() if isinstance(value, str)
        }
        self.errors: dict[str, str] = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message: str) -> None:
        """Note what is wrong with a field (the first message per field is kept)."""
        self.errors.setdefault(name, message)

    def text(
        self,
        name: str,
        missing: str | None = None,
        *,
        max_length: int = 200,
        too_long: str = "",
        pattern: str | None = None,
        mismatch: str = "",
    ) -> str | None:
        """The field's text; `missing` makes it required (and is the message when empty)."""
        value = self.values.get(name, "")
        if not value:
            if missing:
                self.error(name, missing)
            return None
        if len(value) > max_length:
            self.error(name, too_long or missing or "")
        elif pattern and not re.fullmatch(pattern, value):
            self.error(name, mismatch)
        return value

    def day(self, name: str, missing: str | None, invalid: str) -> date | None:
        """A date typed as YYYY-MM-DD (what a date input sends) or DD/MM/YYYY (by hand)."""
        value = self.values.get(name, "")
        if not value:
            if missing:
                self.error(name, missing)
            return None
        for pattern in (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{1,2})/(\d{1,2})/(\d{4})"):
            match = re.fullmatch(pattern, value)
            if match:
                parts = [int(p) for p in match.groups()]
                year, month, day = parts if parts[0] > 31 else (parts[2], parts[1], parts[0])
                try:
                    return date(year, month, day)
                except ValueError:
                    break
        self.error(name, invalid)
        return None

    def choice(self, name: str, choices: set[str] | list[str], missing: str) -> str | None:
        value = self.values.get(name, "")
        if value not in choices:
            self.error(name, missing)
            return None
        return value

    def all(self, name: str) -> list[str]:
        """Every value of a field sent more than once (a group of checkboxes)."""
        if isinstance(self._data, FormData | QueryParams):
            return [v.strip() for v in self._data.getlist(name) if isinstance(v, str)]
        value = self._data.get(name)
        return [value] if value else []


async def submitted_form(request: Request) -> Form:
    return Form(await request.form())


Submitted = Annotated[Form, Depends(submitted_form)]

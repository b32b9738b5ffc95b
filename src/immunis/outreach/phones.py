"""Phone numbers as gateways want them: international form, Viet Nam (+84) by default."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-()]")


def international_number(phone: str, country_code: str = "84") -> str:
    """``0987 654 321`` -> ``+84987654321``; a number already international is kept."""
    digits = _SEPARATORS.sub("", phone)
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return f"+{country_code}{digits[1:]}"
    if digits.startswith(country_code) and len(digits) > 10:
        return "+" + digits
    return f"+{country_code}{digits}"

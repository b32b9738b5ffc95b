"""Vietnamese names for searching and matching: without diacritics, lower case, single-spaced."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """``"Nguyễn Thị Ánh"`` -> ``"nguyen thi anh"``; đ/Đ become d."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().split())


def name_key(family_name: str, given_name: str) -> str:
    """The folded full name in Vietnamese order, family name first."""
    return fold(f"{family_name} {given_name}")

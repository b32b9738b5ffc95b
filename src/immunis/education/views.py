"""The education API: public content about each vaccine, no login needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from immunis.education import service
from immunis.education.schemas import Language, VaccineOut, VaccineSummaryOut

router = APIRouter(prefix="/api/education", tags=["education"])

Lang = Annotated[Language, Query(description="vi (Vietnamese) or en (English)")]


@router.get("/vaccines")
def list_vaccines(lang: Lang = "vi") -> list[VaccineSummaryOut]:
    """Every vaccine with public content, by name."""
    return service.list_vaccines(lang)


@router.get("/vaccines/{key}")
def read_vaccine(key: str, lang: Lang = "vi") -> VaccineOut:
    """What the vaccine prevents, its schedule in Viet Nam, common reactions, when to seek care,
    and the sources."""
    return service.get_vaccine(key, lang)

"""Who may see which reminder lists: vaccinators their site's, officers their area's, national
officers any; everyone else none. A refusal is written to the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from immunis.access.models import AuditEvent
from tests.outreach.conftest import OutreachWorld


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("vaccinator", {}),
        ("vaccinator", {"site": "HN-BADINH-01"}),
        ("district_officer", {}),
        ("district_officer", {"site": "HN-BADINH-01"}),
        ("district_officer", {"area": "00001"}),
        ("province_officer", {"area": "001"}),
        ("province_officer_hcm", {"site": "HCM-Q1-01"}),
        ("national_officer", {"area": "79"}),
        ("national_officer", {"site": "HN-BADINH-01"}),
    ],
)
def test_staff_see_the_lists_of_their_own_site_or_area(
    outreach: OutreachWorld, who: str, query: dict[str, str]
) -> None:
    assert outreach.due(who, **query).status_code == 200


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("vaccinator", {"site": "HCM-Q1-01"}),
        ("vaccinator", {"area": "001"}),
        ("vaccinator_hcm", {"site": "HN-BADINH-01"}),
        ("district_officer", {"site": "HCM-Q1-01"}),
        ("district_officer", {"area": "01"}),
        ("district_officer", {"area": "760"}),
        ("province_officer_hcm", {"area": "01"}),
        ("citizen", {"site": "HN-BADINH-01"}),
        ("lab", {"area": "01"}),
        ("admin", {"area": "01"}),
        ("safety_officer", {"area": "01"}),
        ("citizen", {}),
        ("lab", {}),
    ],
)
def test_nobody_sees_the_lists_of_another_site_or_area(
    outreach: OutreachWorld, who: str, query: dict[str, str]
) -> None:
    answer = outreach.due(who, **query)
    assert answer.status_code == 403, answer.text
    with outreach.world.sessions() as session:
        refusals = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "outreach_list", AuditEvent.outcome == "denied"
            )
        ).all()
    assert len(refusals) == 1


def test_a_smaller_area_shows_an_officer_only_their_own_residents(
    outreach: OutreachWorld,
) -> None:
    # Commune 26734 is in Hồ Chí Minh City: a Hà Nội officer may ask, and finds nobody.
    body = outreach.due("province_officer", area="26734").json()
    assert body["totals"]["people"] == 0
    assert body["due_soon"] == [] and body["overdue"] == []


def test_a_national_officer_names_the_site_or_area(outreach: OutreachWorld) -> None:
    assert outreach.due("national_officer").status_code == 422


def test_an_unknown_site_is_not_found(outreach: OutreachWorld) -> None:
    assert outreach.due("national_officer", site="NO-SUCH-SITE").status_code == 404


def test_the_lists_need_a_login(outreach: OutreachWorld) -> None:
    assert outreach.world.client.get("/api/outreach/due").status_code == 401

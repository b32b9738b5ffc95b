"""Location and Organization over FHIR, on both databases: anyone signed in reads them, only an
administrator changes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from immunis.access.models import AuditEvent
from immunis.registry.models import Organization, Site
from tests.interop.fhir.helpers import EXT, issue, send, valid_r4
from tests.world import World

SITE_CODE = "http://immunis.org/fhir/sid/site-code"
ORGANIZATION_CODE = "http://immunis.org/fhir/sid/organization-code"


def _site_count(world: World) -> int:
    with world.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Site)) or 0)


def _new_site(organization_id: str, **changes: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Location",
        "identifier": [{"system": SITE_CODE, "value": "HN-HOANKIEM-02"}],
        "status": "active",
        "name": "Trạm Y tế phường Hàng Bạc",
        "type": [
            {
                "coding": [
                    {
                        "system": "http://immunis.org/fhir/CodeSystem/site-kind",
                        "code": "commune-health-station",
                    }
                ]
            }
        ],
        "address": {
            "line": ["2 Hàng Bạc"],
            "extension": [
                {"url": f"{EXT}/vn-province-code", "valueCode": "01"},
                {"url": f"{EXT}/vn-district-code", "valueCode": "002"},
                {"url": f"{EXT}/vn-commune-code", "valueCode": "00037"},
            ],
        },
        "managingOrganization": {"reference": f"Organization/{organization_id}"},
    }
    resource.update(changes)
    return resource


def _organization_id(world: World) -> str:
    with world.sessions() as session:
        return str(session.scalars(select(Organization.id)).one())


def test_any_signed_in_user_reads_a_site_as_a_location(world: World) -> None:
    site_id = world.sites["HCM-Q1-01"]
    response = send(world, "GET", f"/fhir/Location/{site_id}", "lab")
    assert response.status_code == 200
    location = valid_r4(response.json())
    assert location["identifier"] == [{"system": SITE_CODE, "value": "HCM-Q1-01"}]
    assert location["name"] == "Trạm Y tế phường Bến Nghé"
    codes = {e["url"].rsplit("/", 1)[1]: e["valueCode"] for e in location["address"]["extension"]}
    assert codes == {
        "vn-province-code": "79",
        "vn-district-code": "760",
        "vn-commune-code": "26734",
    }
    assert location["managingOrganization"] == {
        "reference": f"Organization/{_organization_id(world)}"
    }


def test_sites_are_found_by_code_name_and_organization(world: World) -> None:
    organization = _organization_id(world)
    for params, codes in (
        ({"identifier": f"{SITE_CODE}|HN-PRIVATE-01"}, ["HN-PRIVATE-01"]),
        ({"name": "Bến Nghé"}, ["HCM-Q1-01"]),
        (
            {"organization": f"Organization/{organization}"},
            ["HCM-Q1-01", "HN-BADINH-01", "HN-PRIVATE-01"],
        ),
        ({}, ["HCM-Q1-01", "HN-BADINH-01", "HN-PRIVATE-01"]),
    ):
        response = world.client.get(
            "/fhir/Location", params=params, headers=world.headers("citizen")
        )
        bundle = valid_r4(response.json())
        assert [e["resource"]["identifier"][0]["value"] for e in bundle["entry"]] == codes, params
        assert bundle["total"] == len(codes)


def test_an_organization_is_read_and_found(world: World) -> None:
    organization = _organization_id(world)
    read = valid_r4(send(world, "GET", f"/fhir/Organization/{organization}", "vaccinator").json())
    assert read["identifier"] == [{"system": ORGANIZATION_CODE, "value": "HN-CDC"}]
    found = world.client.get(
        "/fhir/Organization", params={"name": "hà nội"}, headers=world.headers("vaccinator")
    )
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [organization]


def test_an_administrator_registers_and_changes_sites_and_organizations(world: World) -> None:
    parent = _organization_id(world)
    organization = {
        "resourceType": "Organization",
        "identifier": [{"system": ORGANIZATION_CODE, "value": "HN-HOANKIEM-TTYT"}],
        "name": "Trung tâm Y tế quận Hoàn Kiếm",
        "partOf": {"reference": f"Organization/{parent}"},
    }
    made = send(world, "POST", "/fhir/Organization", "admin", organization)
    assert made.status_code == 201, made.text
    organization_id = made.json()["id"]
    site = send(world, "POST", "/fhir/Location", "admin", _new_site(organization_id))
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    closed = _new_site(organization_id, id=site_id, status="inactive")
    changed = send(world, "PUT", f"/fhir/Location/{site_id}", "admin", closed)
    assert changed.status_code == 200, changed.text
    read = send(world, "GET", f"/fhir/Location/{site_id}", "vaccinator").json()
    assert read["status"] == "inactive"
    assert read["managingOrganization"] == {"reference": f"Organization/{organization_id}"}
    with world.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type.in_(("site", "organization")))
        ).all()
    assert [(e.action, e.entity_type) for e in events] == [
        ("create", "organization"),
        ("create", "site"),
        ("update", "site"),
    ]


def test_only_an_administrator_may_register_a_site(world: World) -> None:
    response = send(
        world, "POST", "/fhir/Location", "vaccinator", _new_site(_organization_id(world))
    )
    assert response.status_code == 403
    assert issue(response)["code"] == "forbidden"
    assert _site_count(world) == 3


def test_a_site_code_belongs_to_one_site(world: World) -> None:
    taken = _new_site(
        _organization_id(world), identifier=[{"system": SITE_CODE, "value": "HCM-Q1-01"}]
    )
    response = send(world, "POST", "/fhir/Location", "admin", taken)
    assert response.status_code == 409
    assert issue(response)["code"] == "conflict"
    assert _site_count(world) == 3


def test_a_location_without_a_site_code_is_refused(world: World) -> None:
    response = send(
        world, "POST", "/fhir/Location", "admin", _new_site(_organization_id(world), identifier=[])
    )
    assert response.status_code == 422
    assert issue(response)["diagnostics"].startswith("Location.identifier: needs an identifier")
    assert _site_count(world) == 3

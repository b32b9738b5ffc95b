"""Registry ingest on PostgreSQL: HL7 v2 VXU messages and FHIR creates, one at a time, and the
same records as bulk imports.

    python bench/registry.py [--url POSTGRESQL_URL] [-n 1000] [--http-n 300]

Makes a scratch database on the server at --url (default IMMUNIS_TEST_POSTGRES_URL), migrates
it, and drops it at the end. Every record is a new person with two hepatitis B doses, written
through the real code, as an integration account of one site:

- HL7 VXU, service: `interop.hl7v2.service.handle_message`, one transaction per message;
- HL7 VXU, HTTP: POST /hl7/v2 through the FastAPI app (Starlette's TestClient, in process);
- FHIR create, service: validate + map (the FHIR face) + `registry.service`, one transaction per
  resource (a Patient, then its two Immunizations);
- FHIR create, HTTP: POST /fhir/Patient and POST /fhir/Immunization;
- bulk import: `immunis import`'s service on an HL7 batch file and on FHIR NDJSON, batches of 500.

Prints messages (or resources) per second for each; figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.patient import Patient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Actor
from immunis.access.service import actor_for, create_user, find_user, issue_token
from immunis.admin_cli import operator
from immunis.app import create_app
from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.importer.service import import_file
from immunis.interop.fhir.immunization import dose_record
from immunis.interop.fhir.patient import person_in
from immunis.interop.fhir.validation import validate
from immunis.interop.hl7v2.service import handle_message
from immunis.migrate import upgrade
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.schemas import SiteIn
from immunis.settings import Settings

CVX = "http://hl7.org/fhir/sid/cvx"
WARM_UP = 20  # records first written untimed: schedules loaded, statements cached


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, migrated database on the server at `server_url`, dropped afterwards."""
    name = f"immunis_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def integration_token(sessions: sessionmaker[Session]) -> str:
    """A site, and a bearer token of an integration account ("bench") sending for it."""
    with transaction(sessions) as session:
        site = sites.create_site(session, operator(), SiteIn(code="BENCH-01", name="Bench site"))
        user = create_user(session, username="bench", role="integration", site_id=site.id)
        return issue_token(session, user, label="bench")


def actor(sessions: sessionmaker[Session], channel: str) -> Actor:
    with sessions() as session:
        user = find_user(session, "bench")
        assert user is not None
        return actor_for(session, user, channel=channel)


def vxu(key: str) -> str:
    """A VXU^V04: a new baby and two hepatitis B doses."""
    return "\r".join(
        [
            f"MSH|^~\\&|BENCH|BENCH-01|IMMUNIS|MOH|20250505||VXU^V04^VXU_V04|{key}|P|2.5.1",
            f"PID|1||{key}^^^BENCH^MR||NGUYEN^VAN AN||20250303|M",
            f"ORC|RE||{key}-1",
            "RXA|0|1|20250303|20250303|08^Hepatitis B^CVX|999",
            f"ORC|RE||{key}-2",
            "RXA|0|1|20250505|20250505|08^Hepatitis B^CVX|999",
        ]
    )


def patient(key: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": key,
        "identifier": [{"system": "urn:bench:patient", "value": key}],
        "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}],
        "birthDate": "2025-03-03",
        "gender": "male",
    }


def immunization(key: str, number: int, patient_reference: str) -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "identifier": [{"system": "urn:bench:dose", "value": f"{key}-{number}"}],
        "patient": {"reference": patient_reference},
        "vaccineCode": {"coding": [{"system": CVX, "code": "08"}]},
        "occurrenceDateTime": "2025-03-03" if number == 1 else "2025-05-05",
    }


def report(label: str, count: int, unit: str, seconds: float) -> None:
    print(
        f"{label:<26} {count:>6} {unit:<9} {seconds:>7.2f} s {count / seconds:>7.0f} {unit}/s"
        f" {seconds / count * 1000:>6.2f} ms each"
    )


def timed(label: str, calls: int, write: Callable[[int], None], unit: str, per_call: int) -> None:
    """Call `write` WARM_UP times untimed, then `calls` times; each call writes `per_call`
    units."""
    for index in range(WARM_UP):
        write(-index - 1)
    started = time.perf_counter()
    for index in range(calls):
        write(index)
    report(label, calls * per_call, unit, time.perf_counter() - started)


def hl7_service(sessions: sessionmaker[Session], count: int) -> None:
    sender = actor(sessions, "hl7")

    def send(index: int) -> None:
        reply = handle_message(vxu(f"HS{index}").encode(), sender, sessions, schedule_id="vn")
        assert reply.code == "AA", reply.segments

    timed("HL7 VXU, service", count, send, "messages", 1)


def hl7_http(client: TestClient, token: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/hl7-v2"}

    def send(index: int) -> None:
        answer = client.post("/hl7/v2", content=vxu(f"HH{index}").encode(), headers=headers)
        assert answer.status_code == 200 and "|AA|" in answer.text, answer.text

    timed("HL7 VXU, HTTP", count, send, "messages", 1)


def fhir_service(sessions: sessionmaker[Session], count: int) -> None:
    sender = actor(sessions, "fhir")

    def create(index: int) -> None:
        key = f"FS{index}"
        with transaction(sessions) as session:
            person = registry.create_person(
                session, sender, person_in(validate(Patient, patient(key)))
            )
        for number in (1, 2):
            resource = immunization(key, number, f"Patient/{person.id}")
            record = dose_record(validate(Immunization, resource), creating=True)
            with transaction(sessions) as session:
                registry.record_immunization(session, sender, record.person_id, record.dose)

    timed("FHIR create, service", count, create, "resources", 3)


def fhir_http(client: TestClient, token: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}

    def create(index: int) -> None:
        key = f"FH{index}"
        made = client.post("/fhir/Patient", json=patient(key), headers=headers)
        assert made.status_code == 201, made.text
        for number in (1, 2):
            resource = immunization(key, number, f"Patient/{made.json()['id']}")
            dose = client.post("/fhir/Immunization", json=resource, headers=headers)
            assert dose.status_code == 201, dose.text

    timed("FHIR create, HTTP", count, create, "resources", 3)


def bulk_imports(sessions: sessionmaker[Session], count: int, folder: Path) -> None:
    importer = actor(sessions, "cli")
    hl7_file = folder / "batch.hl7"
    hl7_file.write_text("\r".join(vxu(f"BH{i}") for i in range(count)) + "\r", encoding="utf-8")
    ndjson = folder / "bulk.ndjson"
    with ndjson.open("w", encoding="utf-8") as stream:
        for index in range(count):
            key = f"BF{index}"
            for resource in (
                patient(key),
                *(immunization(key, n, f"Patient/{key}") for n in (1, 2)),
            ):
                stream.write(json.dumps(resource, ensure_ascii=False) + "\n")
    for label, path, kind, unit, records in (
        ("HL7 batch file, import", hl7_file, "hl7", "messages", count),
        ("FHIR NDJSON, import", ndjson, "fhir-ndjson", "resources", count * 3),
    ):
        started = time.perf_counter()
        result = import_file(sessions, importer, path, kind, rejects=folder / "rejects.jsonl")
        report(label, records, unit, time.perf_counter() - started)
        assert (result.created, result.rejected) == (records, 0), result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("IMMUNIS_TEST_POSTGRES_URL"))
    parser.add_argument("-n", type=int, default=1000, help="records through the services")
    parser.add_argument("--http-n", type=int, default=300, help="records through HTTP")
    args = parser.parse_args()
    if not args.url or not args.url.startswith("postgresql"):
        parser.error("give a PostgreSQL server: --url or IMMUNIS_TEST_POSTGRES_URL")
    with scratch_database(args.url) as url, tempfile.TemporaryDirectory() as folder:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        token = integration_token(sessions)
        client = TestClient(create_app(Settings(database_url=url)))
        version = ".".join(str(part) for part in engine.dialect.server_version_info or ())
        print(f"PostgreSQL {version}, scratch database {make_url(url).database}")
        print("each record: a new person and two doses")
        hl7_service(sessions, args.n)
        hl7_http(client, token, args.http_n)
        fhir_service(sessions, args.n)
        fhir_http(client, token, args.http_n)
        bulk_imports(sessions, args.n, Path(folder))
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        engine.dispose()


if __name__ == "__main__":
    main()

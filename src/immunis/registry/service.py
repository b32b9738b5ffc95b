"""The registry's use cases: people, their doses and observations, their forecast.

Each function runs inside the caller's transaction (one per request or message), checks the
actor's right to act, and writes what it did to the audit log.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from immunis.access.models import AccessGrant
from immunis.access.policy import AREA_ROLES, SITE_ROLES, Action, Actor, Role
from immunis.access.service import audit, grant_site_access, require, require_person
from immunis.errors import Conflict, InvalidInput, NotFound
from immunis.forecast import (
    AdministeredDose,
    Forecast,
    Gender,
    Patient,
    PatientObservation,
    forecast,
)
from immunis.registry.models import (
    Guardianship,
    Immunization,
    Person,
    PersonIdentifier,
    PersonObservation,
    Site,
)
from immunis.registry.names import fold, name_key
from immunis.registry.schemas import (
    Address,
    GuardianLink,
    Identifier,
    ImmunizationIn,
    ImmunizationOut,
    ObservationIn,
    ObservationOut,
    PersonIn,
    PersonOut,
)
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule

_GENDER = {"female": Gender.FEMALE, "male": Gender.MALE}


def person_out(person: Person) -> PersonOut:
    address = None
    if any((person.address_line, person.province_code, person.district_code, person.commune_code)):
        address = Address(
            line=person.address_line,
            province_code=person.province_code,
            district_code=person.district_code,
            commune_code=person.commune_code,
        )
    return PersonOut(
        id=person.id,
        national_id=person.national_id,
        identifiers=[Identifier(system=i.system, value=i.value) for i in person.identifiers],
        family_name=person.family_name,
        given_name=person.given_name,
        birth_date=person.birth_date,
        sex=person.sex,  # type: ignore[arg-type]
        phone=person.phone,
        address=address,
        managing_site_id=person.managing_site_id,
        guardians=[
            GuardianLink(guardian_id=g.guardian_id, relationship=g.relation)
            for g in person.guardians
        ],
        active=person.active,
        merged_into_id=person.merged_into_id,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


def immunization_out(row: Immunization) -> ImmunizationOut:
    external = (
        Identifier(system=row.external_system, value=row.external_value)
        if row.external_system and row.external_value
        else None
    )
    return ImmunizationOut(
        id=row.id,
        person_id=row.person_id,
        date_administered=row.date_administered,
        cvx=row.cvx,
        mvx=row.mvx,
        product_name=row.product_name,
        lot_number=row.lot_number,
        expiration_date=row.expiration_date,
        dose_volume_ml=row.dose_volume_ml,
        site_id=row.site_id,
        performer=row.performer,
        source=row.source,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        external_id=external,
        recorded_at=row.recorded_at,
    )


def _load(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def _check_site(session: Session, site_id: str | None) -> None:
    if site_id is not None and session.get(Site, site_id) is None:
        raise InvalidInput(f"no site {site_id}")


def _apply(session: Session, person: Person, data: PersonIn) -> None:
    if data.national_id:
        clash = session.scalars(
            select(Person.id).where(Person.national_id == data.national_id, Person.id != person.id)
        ).first()
        if clash:
            raise Conflict(f"national ID {data.national_id} belongs to another person")
    for identifier in data.identifiers:
        clash = session.scalars(
            select(PersonIdentifier.person_id).where(
                PersonIdentifier.system == identifier.system,
                PersonIdentifier.value == identifier.value,
                PersonIdentifier.person_id != person.id,
            )
        ).first()
        if clash:
            raise Conflict(f"identifier {identifier.system}|{identifier.value} is in use")
    _check_site(session, data.managing_site_id)
    person.national_id = data.national_id
    person.family_name = data.family_name
    person.given_name = data.given_name
    person.name_key = name_key(data.family_name, data.given_name)
    person.birth_date = data.birth_date
    person.sex = data.sex
    person.phone = data.phone
    address = data.address or Address()
    person.address_line = address.line
    person.province_code = address.province_code
    person.district_code = address.district_code
    person.commune_code = address.commune_code
    if data.managing_site_id:
        person.managing_site_id = data.managing_site_id
    wanted = {(i.system, i.value) for i in data.identifiers}
    person.identifiers = [i for i in person.identifiers if (i.system, i.value) in wanted]
    have = {(i.system, i.value) for i in person.identifiers}
    for system, value in sorted(wanted - have):
        person.identifiers.append(PersonIdentifier(system=system, value=value))
    guardians = []
    for link in data.guardians:
        if link.guardian_id == person.id or session.get(Person, link.guardian_id) is None:
            raise InvalidInput(f"guardian {link.guardian_id} is not a known person")
        guardians.append(Guardianship(guardian_id=link.guardian_id, relation=link.relationship))
    person.guardians = guardians


def create_person(session: Session, actor: Actor, data: PersonIn) -> PersonOut:
    """Register a person; the actor's site manages the record unless another site is named."""
    require(actor, Action.CREATE)
    person = Person(managing_site_id=actor.site_id)
    _apply(session, person, data)
    session.add(person)
    session.flush()
    audit(session, actor, "create", "person", person.id, person_id=person.id)
    return person_out(person)


def get_person(session: Session, actor: Actor, person_id: str) -> PersonOut:
    person = _load(session, person_id)
    require_person(session, actor, Action.READ, person)
    audit(session, actor, "read", "person", person.id, person_id=person.id)
    return person_out(person)


def update_person(session: Session, actor: Actor, person_id: str, data: PersonIn) -> PersonOut:
    person = _load(session, person_id)
    require_person(session, actor, Action.UPDATE, person)
    if not person.active:
        raise Conflict(f"person {person_id} was merged into {person.merged_into_id}")
    _apply(session, person, data)
    session.flush()
    audit(session, actor, "update", "person", person.id, person_id=person.id)
    return person_out(person)


def find_by_identifier(session: Session, system: str, value: str) -> Person | None:
    """The active person with this identifier (the national ID counts as one), if any."""
    if system in NATIONAL_ID_SYSTEMS:
        return session.scalars(
            select(Person).where(Person.national_id == value, Person.active.is_(True))
        ).first()
    return session.scalars(
        select(Person)
        .join(PersonIdentifier)
        .where(
            PersonIdentifier.system == system,
            PersonIdentifier.value == value,
            Person.active.is_(True),
        )
    ).first()


# The identifier systems that mean "Vietnamese citizen identity number".
NATIONAL_ID_SYSTEMS = frozenset({"urn:immunis:vn:cccd", "http://immunis.org/fhir/sid/vn-cccd"})


def _reach(query: Select[tuple[Person]], actor: Actor) -> Select[tuple[Person]]:
    """Limit a person query to the records the actor may read."""
    if actor.role in SITE_ROLES:
        dosed = select(Immunization.person_id).where(Immunization.site_id == actor.site_id)
        granted = select(AccessGrant.person_id).where(AccessGrant.site_id == actor.site_id)
        conditions = [
            Person.managing_site_id == actor.site_id,
            Person.id.in_(dosed),
            Person.id.in_(granted),
        ]
        if actor.site_commune_code:
            conditions.append(Person.commune_code == actor.site_commune_code)
        return query.where(or_(*conditions))
    if actor.role in AREA_ROLES:
        code = actor.area_code or ""
        column = Person.province_code if len(code) == 2 else Person.district_code
        return query.where(column == code)
    if actor.role is Role.CITIZEN:
        return query.where(Person.id.in_({actor.person_id, *actor.dependant_ids}))
    return query


def search_persons(
    session: Session,
    actor: Actor,
    *,
    national_id: str | None = None,
    identifier: Identifier | None = None,
    name: str | None = None,
    birth_date: date | None = None,
    phone: str | None = None,
    limit: int = 50,
) -> list[PersonOut]:
    """People matching every criterion given, among those the actor may see. A site's staff who
    look a person up by exact national ID get access to that person for a day (they are there)."""
    require(actor, Action.SEARCH)
    if not any((national_id, identifier, name, birth_date, phone)):
        raise InvalidInput("give at least one search criterion")
    query = select(Person).where(Person.active.is_(True))
    if national_id:
        query = query.where(Person.national_id == national_id)
    if identifier:
        query = query.join(PersonIdentifier).where(
            PersonIdentifier.system == identifier.system,
            PersonIdentifier.value == identifier.value,
        )
    if name:
        query = query.where(Person.name_key.contains(fold(name)))
    if birth_date:
        query = query.where(Person.birth_date == birth_date)
    if phone:
        query = query.where(Person.phone == phone)
    query = query.order_by(Person.name_key, Person.id).limit(min(limit, 200))
    if national_id and actor.role in SITE_ROLES:
        found = list(session.scalars(query))
        for person in found:
            grant_site_access(session, actor, person, "identified by national ID")
            audit(session, actor, "identify", "person", person.id, person_id=person.id)
    else:
        found = list(session.scalars(_reach(query, actor)))
    criteria = sorted(
        k
        for k, v in {
            "national_id": national_id,
            "identifier": identifier,
            "name": name,
            "birth_date": birth_date,
            "phone": phone,
        }.items()
        if v
    )
    audit(
        session,
        actor,
        "search",
        "person",
        detail={"criteria": criteria, "results": [p.id for p in found]},
    )
    return [person_out(p) for p in found]


def _known_cvx(cvx: str) -> bool:
    return any(load_schedule(s).vaccine(cvx) is not None for s in SCHEDULE_IDS)


def record_immunization(
    session: Session, actor: Actor, person_id: str, data: ImmunizationIn
) -> tuple[ImmunizationOut, bool]:
    """Add a dose to a person's record. Idempotent on `external_id`: the same dose sent again
    returns the record already made (and False)."""
    person = _load(session, person_id)
    require_person(session, actor, Action.RECORD_DOSE, person)
    if not person.active:
        raise Conflict(f"person {person_id} was merged into {person.merged_into_id}")
    if data.external_id is not None:
        existing = session.scalars(
            select(Immunization).where(
                Immunization.external_system == data.external_id.system,
                Immunization.external_value == data.external_id.value,
            )
        ).first()
        if existing is not None:
            if existing.person_id != person.id:
                raise Conflict("that immunization identifier belongs to another person's dose")
            return immunization_out(existing), False
    if data.date_administered < person.birth_date:
        raise InvalidInput(
            f"date administered {data.date_administered} is before the birth date "
            f"{person.birth_date}"
        )
    if not _known_cvx(data.cvx):
        raise InvalidInput(f"CVX {data.cvx} is not a vaccine known to any shipped schedule")
    site_id = data.site_id or (actor.site_id if data.source == "administered" else None)
    _check_site(session, site_id)
    row = Immunization(
        person_id=person.id,
        date_administered=data.date_administered,
        cvx=data.cvx,
        mvx=data.mvx,
        product_name=data.product_name,
        lot_number=data.lot_number,
        expiration_date=data.expiration_date,
        dose_volume_ml=data.dose_volume_ml,
        site_id=site_id,
        performer=data.performer,
        source=data.source,
        external_system=data.external_id.system if data.external_id else None,
        external_value=data.external_id.value if data.external_id else None,
        recorded_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "immunization", row.id, person_id=person.id)
    return immunization_out(row), True


def list_immunizations(session: Session, actor: Actor, person_id: str) -> list[ImmunizationOut]:
    person = _load(session, person_id)
    require_person(session, actor, Action.READ, person)
    rows = session.scalars(
        select(Immunization)
        .where(Immunization.person_id == person.id)
        .order_by(Immunization.date_administered, Immunization.id)
    )
    audit(session, actor, "read", "immunization", person_id=person.id)
    return [immunization_out(r) for r in rows]


def add_observation(
    session: Session, actor: Actor, person_id: str, data: ObservationIn
) -> ObservationOut:
    person = _load(session, person_id)
    require_person(session, actor, Action.UPDATE, person)
    row = PersonObservation(
        person_id=person.id,
        code=data.code,
        start_date=data.start_date,
        end_date=data.end_date,
        note=data.note,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "observation", row.id, person_id=person.id)
    return ObservationOut(
        id=row.id,
        person_id=row.person_id,
        code=row.code,
        start_date=row.start_date,
        end_date=row.end_date,
        note=row.note,
        recorded_at=row.recorded_at,
    )


def person_forecast(
    session: Session,
    actor: Actor,
    person_id: str,
    assessment_date: date,
    schedule_id: str,
) -> tuple[PersonOut, Forecast]:
    """The person's record evaluated and forecast by the engine under a shipped schedule."""
    person = _load(session, person_id)
    require_person(session, actor, Action.READ, person)
    if schedule_id not in SCHEDULE_IDS:
        raise InvalidInput(f"unknown schedule {schedule_id!r}")
    doses = [
        AdministeredDose(
            date_administered=row.date_administered,
            cvx=row.cvx,
            mvx=row.mvx,
            volume_ml=row.dose_volume_ml,
            id=row.id,
        )
        for row in session.scalars(
            select(Immunization).where(
                Immunization.person_id == person.id, Immunization.status == "completed"
            )
        )
    ]
    observations = tuple(
        PatientObservation(row.code, row.start_date, row.end_date)
        for row in session.scalars(
            select(PersonObservation).where(PersonObservation.person_id == person.id)
        )
    )
    if assessment_date < person.birth_date:
        raise InvalidInput("assessment date is before the birth date")
    patient = Patient(person.birth_date, _GENDER.get(person.sex, Gender.UNKNOWN), observations)
    answer = forecast(patient, doses, assessment_date, load_schedule(schedule_id))
    audit(session, actor, "read", "forecast", person_id=person.id)
    return person_out(person), answer

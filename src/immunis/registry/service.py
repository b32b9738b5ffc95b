"""The registry's use cases: people, their doses and observations, their forecast.

Each function runs inside the caller's transaction (one per request or message), checks the
actor's right to act, and writes what it did to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, DateTime, Select, Text, bindparam, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload
from sqlalchemy.sql.selectable import TableValuedAlias

from immunis.access.models import AccessGrant
from immunis.access.policy import AREA_ROLES, SITE_ROLES, Action, Actor, PersonFacts, Role
from immunis.access.service import (
    audit,
    grant_site_access,
    granted_sites,
    require,
    require_person,
    require_person_facts,
)
from immunis.errors import Conflict, InvalidInput, NotFound
from immunis.forecast import (
    AdministeredDose,
    DoseCondition,
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
    ImmunizationStatus,
    LotRecipient,
    ObservationIn,
    ObservationOut,
    PersonIn,
    PersonOut,
)
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule
from immunis.schedule.model import normalize_cvx
from immunis.supply import service as supply
from immunis.supply.models import VaccineLot

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
    # Links that stay are kept as rows: a new row for the same pair would break its uniqueness.
    linked = {g.guardian_id: g for g in person.guardians}
    guardians = []
    for link in data.guardians:
        if link.guardian_id == person.id or session.get(Person, link.guardian_id) is None:
            raise InvalidInput(f"guardian {link.guardian_id} is not a known person")
        kept = linked.get(link.guardian_id) or Guardianship(guardian_id=link.guardian_id)
        kept.relation = link.relationship
        guardians.append(kept)
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
    family: str | None = None,
    given: str | None = None,
    limit: int = 50,
) -> list[PersonOut]:
    """People matching every criterion given, among those the actor may see. A site's staff who
    look a person up by exact national ID get access to that person for a day (they are there)."""
    require(actor, Action.SEARCH)
    if not any((national_id, identifier, name, birth_date, phone, family, given)):
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
    if family:
        # The name key starts with the family name (Vietnamese order).
        query = query.where(Person.name_key.startswith(fold(family), autoescape=True))
    if given:
        query = query.where(Person.name_key.contains(" " + fold(given), autoescape=True))
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
            "family": family,
            "given": given,
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


def _check_dose(person: Person, data: ImmunizationIn) -> None:
    if data.date_administered < person.birth_date:
        raise InvalidInput(
            f"date administered {data.date_administered} is before the birth date "
            f"{person.birth_date}"
        )
    if not _known_cvx(data.cvx):
        raise InvalidInput(f"CVX {data.cvx} is not a vaccine known to any shipped schedule")


def record_immunization(
    session: Session,
    actor: Actor,
    person_id: str,
    data: ImmunizationIn,
    *,
    given_at: datetime | None = None,
) -> tuple[ImmunizationOut, bool]:
    """Add a dose to a person's record. Idempotent on `external_id`: the same dose sent again
    returns the record already made (and False). A dose given at a site that keeps its stock here
    comes out of that stock (`given_at`, default now, times multi-dose vials)."""
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
    _check_dose(person, data)
    site_id = data.site_id or (actor.site_id if data.source == "administered" else None)
    _check_site(session, site_id)
    lot = _lot_for_administered_dose(session, data, site_id)
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
    if lot is not None and site_id is not None:
        supply.consume_dose(
            session, actor, site_id, lot, row.id, data.date_administered, at=given_at
        )
    audit(session, actor, "create", "immunization", row.id, person_id=person.id)
    return immunization_out(row), True


def _lot_for_administered_dose(
    session: Session, data: ImmunizationIn, site_id: str | None
) -> VaccineLot | None:
    """A dose given here comes from a released, unexpired lot held at the site, when the site's
    stock is kept in immunis; elsewhere a lot immunis knows must at least still be usable.
    Reported (historical) doses are not checked: their stock was never ours to count."""
    if data.source != "administered" or site_id is None:
        return None
    if supply.site_keeps_stock(session, site_id):
        if not data.lot_number:
            raise InvalidInput("a dose given at a site that keeps its stock here needs its lot")
        return supply.check_lot_for_dose(
            session, site_id, data.lot_number, data.cvx, data.date_administered, mvx=data.mvx
        )
    if data.lot_number:
        supply.check_known_lot(
            session, data.lot_number, data.cvx, data.date_administered, mvx=data.mvx
        )
    return None


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


def _load_immunization(session: Session, immunization_id: str) -> Immunization:
    row = session.get(Immunization, immunization_id)
    if row is None:
        raise NotFound(f"no immunization {immunization_id}")
    return row


def get_immunization(session: Session, actor: Actor, immunization_id: str) -> ImmunizationOut:
    """One recorded dose, if the actor may read its person's record."""
    row = _load_immunization(session, immunization_id)
    person = _load(session, row.person_id)
    require_person(session, actor, Action.READ, person)
    audit(session, actor, "read", "immunization", row.id, person_id=person.id)
    return immunization_out(row)


def update_immunization(
    session: Session,
    actor: Actor,
    immunization_id: str,
    person_id: str,
    data: ImmunizationIn,
    status: ImmunizationStatus = "completed",
) -> ImmunizationOut:
    """Replace a recorded dose's details, or mark it entered in error. A dose stays with its
    person: `person_id` must be the one it was recorded for, and at its site unless `data` names
    another. A dose taken from stock goes back to it when marked entered in error, and comes out
    again when restored to completed; corrected to another lot or site, it goes back to the one
    it was taken from and comes out of the new one, which must be a lot that may be given there
    (as when a dose is recorded). Other corrections check no lot again: a lot quarantined since
    the dose was given does not stop its record being put right."""
    row = _load_immunization(session, immunization_id)
    person = _load(session, row.person_id)
    require_person(session, actor, Action.RECORD_DOSE, person)
    if person_id != row.person_id:
        raise InvalidInput("a recorded dose cannot be moved to another person")
    if not person.active:
        raise Conflict(f"person {person.id} was merged into {person.merged_into_id}")
    _check_dose(person, data)
    site_id = data.site_id or row.site_id
    _check_site(session, site_id)
    if data.external_id is not None:
        clash = session.scalars(
            select(Immunization.id).where(
                Immunization.external_system == data.external_id.system,
                Immunization.external_value == data.external_id.value,
                Immunization.id != row.id,
            )
        ).first()
        if clash:
            raise Conflict("that immunization identifier belongs to another dose")
    was_in_error = row.status == "entered-in-error"
    moved = _stock_source(row.source, row.cvx, row.mvx, row.lot_number, row.site_id) != (
        _stock_source(data.source, data.cvx, data.mvx, data.lot_number, site_id)
    )
    lot = None
    if moved and status == "completed":
        lot = _lot_for_administered_dose(session, data, site_id)
    row.date_administered = data.date_administered
    row.cvx = data.cvx
    row.mvx = data.mvx
    row.product_name = data.product_name
    row.lot_number = data.lot_number
    row.expiration_date = data.expiration_date
    row.dose_volume_ml = data.dose_volume_ml
    row.site_id = site_id
    row.performer = data.performer
    row.source = data.source
    row.status = status
    row.external_system = data.external_id.system if data.external_id else None
    row.external_value = data.external_id.value if data.external_id else None
    session.flush()
    if status == "entered-in-error":
        supply.return_dose(session, actor, row.id)  # again is harmless
    elif moved:
        supply.return_dose(session, actor, row.id, reason=supply.CORRECTED)
        if lot is not None and site_id is not None:
            supply.consume_dose(session, actor, site_id, lot, row.id, data.date_administered)
    elif was_in_error:
        supply.take_dose_again(session, actor, row.id, row.date_administered)
    audit(session, actor, "update", "immunization", row.id, person_id=person.id)
    return immunization_out(row)


def _stock_source(
    source: str, cvx: str, mvx: str | None, lot_number: str | None, site_id: str | None
) -> tuple[str, str, str, str, str | None]:
    """What decides the stock a dose comes from, as lots are matched (case and outer spaces of a
    lot number typed by hand do not count)."""
    return (
        source,
        normalize_cvx(cvx),
        (mvx or "").upper(),
        (lot_number or "").strip().upper(),
        site_id,
    )


def _cvx_spellings(cvx: str) -> set[str]:
    """The ways a CVX code is written in records: '8', '08' and '008' are one vaccine."""
    code = normalize_cvx(cvx)
    return {code, code.zfill(2), code.zfill(3)} if code.isdigit() else {code}


def _doses_of_lot(lot_number: str, cvx: str, mvx: str | None) -> Select[tuple[Immunization]]:
    """Completed doses recorded with this lot: the lot number matched without case or outer
    spaces (it is typed by hand), and the manufacturer when the dose names one."""
    query = select(Immunization).where(
        func.upper(func.trim(Immunization.lot_number)) == lot_number.strip().upper(),
        Immunization.cvx.in_(_cvx_spellings(cvx)),
        Immunization.status == "completed",
    )
    if mvx:
        query = query.where(
            or_(Immunization.mvx.is_(None), func.upper(Immunization.mvx) == mvx.upper())
        )
    return query.order_by(Immunization.date_administered, Immunization.id)


def _contact_phones(session: Session, person: Person) -> list[str]:
    guardian_ids = [g.guardian_id for g in person.guardians]
    guardian_phones = session.scalars(select(Person.phone).where(Person.id.in_(guardian_ids)))
    return list(dict.fromkeys(p for p in (person.phone, *guardian_phones) if p))


def recipients_of_lot(
    session: Session, actor: Actor, lot_number: str, cvx: str, mvx: str | None = None
) -> list[LotRecipient]:
    """Everyone recorded as given a dose from this lot, with the dose and the phones to reach
    them: a recall's list (lab and national officers). Each dose shown is audited."""
    require(actor, Action.RECALL_LIST, "immunization")
    recipients = []
    for row in session.scalars(_doses_of_lot(lot_number, cvx, mvx)):
        person = _load(session, row.person_id)
        recipients.append(
            LotRecipient(
                person=person_out(person),
                dose=immunization_out(row),
                recall_action=row.recall_action,
                contact_phones=_contact_phones(session, person),
            )
        )
        audit(
            session,
            actor,
            "recall_list",
            "immunization",
            row.id,
            person_id=person.id,
            purpose="lot recall",
        )
    return recipients


def flag_doses_of_lot(
    session: Session,
    actor: Actor,
    lot_number: str,
    cvx: str,
    mvx: str | None,
    recall_action: str,
) -> list[ImmunizationOut]:
    """Mark every dose given from a recalled lot with the recall's action ("revaccinate": the
    dose no longer counts in the forecast; "none": it still does). Returns all those doses."""
    require(actor, Action.RECALL_LIST, "immunization")
    doses = list(session.scalars(_doses_of_lot(lot_number, cvx, mvx)))
    for row in doses:
        if row.recall_action != recall_action:
            row.recall_action = recall_action
            audit(
                session,
                actor,
                "update",
                "immunization",
                row.id,
                person_id=row.person_id,
                purpose="lot recall",
                detail={"recall_action": recall_action},
            )
    session.flush()
    return [immunization_out(row) for row in doses]


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


class PersonRecord(NamedTuple):
    """What a forecast and the access rules need of a person's record, read in one go."""

    facts: PersonFacts
    birth_date: date
    sex: str
    active: bool
    merged_into_id: str | None
    doses: list[AdministeredDose]  # completed doses, each with its record's id
    observations: tuple[PatientObservation, ...]


# On SQLite: the person and a row per dose (or one row with no dose), with the sites granted
# access now and whether there are observations. On PostgreSQL the function
# registry_person_record (migration 0010) answers the same in one row, doses as arrays.
_PERSON_RECORD = (
    select(
        Person.birth_date,
        Person.sex,
        Person.active,
        Person.merged_into_id,
        Person.managing_site_id,
        Person.province_code,
        Person.district_code,
        Person.commune_code,
        granted_sites(Person.id, bindparam("now", type_=DateTime(timezone=True))).label("granted"),
        select(PersonObservation.id)
        .where(PersonObservation.person_id == Person.id)
        .exists()
        .label("observed"),
        Immunization.id,
        Immunization.date_administered,
        Immunization.cvx,
        Immunization.mvx,
        Immunization.dose_volume_ml,
        Immunization.status,
        Immunization.site_id,
        Immunization.recall_action,
    )
    .outerjoin(Immunization, Immunization.person_id == Person.id)
    .where(Person.id == bindparam("person_id"))
    .order_by(Immunization.date_administered, Immunization.id)
)


class _Dose(NamedTuple):
    """A dose as a record read carries it (any status: the access rules count every site)."""

    id: str
    date_administered: date
    cvx: str
    mvx: str | None
    volume_ml: float | None
    status: str
    site_id: str | None
    recall_action: str | None


# The columns of registry_person_record (migration 0010).
_RECORD_COLUMNS = (
    "person_id",
    "birth_date",
    "sex",
    "active",
    "merged_into_id",
    "managing_site_id",
    "province_code",
    "district_code",
    "commune_code",
    "granted_sites",
    "observed",
    "dose_ids",
    "dose_dates",
    "dose_cvx",
    "dose_mvx",
    "dose_volumes",
    "dose_statuses",
    "dose_sites",
    "dose_recall_actions",
)


def person_record_function(person_id: Any, now: Any) -> TableValuedAlias:
    """registry_person_record(person_id, now) for a caller's PostgreSQL statement: one row for a
    person who exists, none otherwise; `person_record_from_row` reads it."""
    return func.registry_person_record(person_id, now).table_valued(*_RECORD_COLUMNS)


_CALL_PERSON_RECORD = select(
    *person_record_function(
        bindparam("person_id", type_=Text), bindparam("now", type_=DateTime(timezone=True))
    ).c
)


def person_record(session: Session, person_id: str) -> PersonRecord | None:
    """The person, every dose, the sites granted access and whether there are observations, in
    one query (None when there is no such person); the observations themselves, in a second
    one, only for people who have any. Read, not authorized: callers authorize with
    `forecast_record`."""
    params = {"person_id": person_id, "now": datetime.now(UTC)}
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_CALL_PERSON_RECORD, params).one_or_none()
        return None if row is None else person_record_from_row(session, row)
    rows = session.execute(_PERSON_RECORD, params).all()
    if not rows:
        return None
    doses = [
        _Dose(
            row.id,
            row.date_administered,
            row.cvx,
            row.mvx,
            row.dose_volume_ml,
            row.status,
            row.site_id,
            row.recall_action,
        )
        for row in rows
        if row.id is not None
    ]
    first = rows[0]
    return _person_record(
        session, person_id, first, (first.granted or "").split(), first.observed, doses
    )


def person_record_from_row(session: Session, row: Any) -> PersonRecord:
    """A record from a row of registry_person_record (its columns, by name)."""
    doses = [
        _Dose(*dose)
        for dose in zip(
            row.dose_ids or (),
            row.dose_dates or (),
            row.dose_cvx or (),
            row.dose_mvx or (),
            row.dose_volumes or (),
            row.dose_statuses or (),
            row.dose_sites or (),
            row.dose_recall_actions or (),
            strict=True,
        )
    ]
    return _person_record(session, row.person_id, row, row.granted_sites, row.observed, doses)


def _person_record(
    session: Session,
    person_id: str,
    person: Any,
    granted: Sequence[str],
    observed: bool,
    doses: list[_Dose],
) -> PersonRecord:
    observations: tuple[PatientObservation, ...] = ()
    if observed:
        observations = tuple(
            PatientObservation(row.code, row.start_date, row.end_date)
            for row in session.scalars(
                select(PersonObservation).where(PersonObservation.person_id == person_id)
            )
        )
    facts = PersonFacts(
        person_id=person_id,
        managing_site_id=person.managing_site_id,
        province_code=person.province_code,
        district_code=person.district_code,
        commune_code=person.commune_code,
        dosed_at_sites=frozenset(dose.site_id for dose in doses if dose.site_id),
        granted_sites=frozenset(granted),
    )
    completed = [
        AdministeredDose(
            date_administered=dose.date_administered,
            cvx=dose.cvx,
            mvx=dose.mvx,
            volume_ml=dose.volume_ml,
            condition=DoseCondition.RECALLED if dose.recall_action == "revaccinate" else None,
            id=dose.id,
        )
        for dose in doses
        if dose.status == "completed"
    ]
    return PersonRecord(
        facts,
        person.birth_date,
        person.sex,
        person.active,
        person.merged_into_id,
        completed,
        observations,
    )


class PersonForecast(NamedTuple):
    """A person's forecast, with what a caller needs to know of the record besides."""

    person_id: str
    active: bool
    merged_into_id: str | None
    forecast: Forecast
    doses: list[AdministeredDose]  # what the forecast's dose indexes point at


def forecast_record(
    session: Session,
    actor: Actor,
    person_id: str,
    record: PersonRecord | None,
    assessment_date: date,
    schedule_id: str,
    vaccine_groups: Sequence[str] | None = None,
    *,
    audited: bool = False,
) -> PersonForecast:
    """The record `person_record` read (None: no such person), evaluated and forecast by the
    engine under a shipped schedule, for every vaccine group or only `vaccine_groups`;
    authorized as a read of the record, and audited (unless `audited`: the caller has logged
    the read itself)."""
    if record is None:
        raise NotFound(f"no person {person_id}")
    require_person_facts(actor, Action.READ, record.facts)
    if schedule_id not in SCHEDULE_IDS:
        raise InvalidInput(f"unknown schedule {schedule_id!r}")
    if assessment_date < record.birth_date:
        raise InvalidInput("assessment date is before the birth date")
    patient = Patient(
        record.birth_date, _GENDER.get(record.sex, Gender.UNKNOWN), record.observations
    )
    schedule = load_schedule(schedule_id)
    answer = forecast(patient, record.doses, assessment_date, schedule, vaccine_groups)
    if not audited:
        audit(session, actor, "read", "forecast", person_id=person_id)
    return PersonForecast(person_id, record.active, record.merged_into_id, answer, record.doses)


def forecast_person(
    session: Session,
    actor: Actor,
    person_id: str,
    assessment_date: date,
    schedule_id: str,
    vaccine_groups: Sequence[str] | None = None,
) -> PersonForecast:
    """`forecast_record` of the person's record, read here."""
    record = person_record(session, person_id)
    return forecast_record(
        session, actor, person_id, record, assessment_date, schedule_id, vaccine_groups
    )


def person_forecast(
    session: Session,
    actor: Actor,
    person_id: str,
    assessment_date: date,
    schedule_id: str,
) -> tuple[PersonOut, Forecast]:
    """The person's record evaluated and forecast by the engine under a shipped schedule."""
    person, answer, _ = person_forecast_with_doses(
        session, actor, person_id, assessment_date, schedule_id
    )
    return person, answer


def person_forecast_with_doses(
    session: Session,
    actor: Actor,
    person_id: str,
    assessment_date: date,
    schedule_id: str,
) -> tuple[PersonOut, Forecast, list[AdministeredDose]]:
    """`person_forecast`, and the doses the engine was given (each with its record's id), which
    tell what the forecast's dose indexes point at."""
    found = forecast_person(session, actor, person_id, assessment_date, schedule_id)
    return person_out(_load(session, person_id)), found.forecast, found.doses


# --- Aggregates for safety monitoring and coverage analytics ----------------------------------


_Rows = TypeVar("_Rows", bound=Select[*tuple[Any, ...]])


class DoseCount(NamedTuple):
    """Doses of one vaccine and lot given to people of one age band and province."""

    cvx: str
    lot_number: str | None
    age_band: str
    province_code: str | None
    doses: int


def _age_in_days(
    session: Session, on: ColumnElement[date] | InstrumentedAttribute[date]
) -> ColumnElement[float]:
    # SQLite has no date arithmetic; PostgreSQL's date - date is a whole number of days.
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(on) - func.julianday(Person.birth_date)
    return on - Person.birth_date  # type: ignore[return-value]


def dose_counts(
    session: Session,
    *,
    age_bands: Sequence[tuple[str, int]],
    since: date | None = None,
    until: date | None = None,
) -> list[DoseCount]:
    """How many doses were given, by vaccine (normalized CVX), lot, the recipient's age band on
    the day and province: counts only, no person data. Doses entered in error are left out.
    `age_bands` are (label, first day of age) in increasing order; callers check that their
    actor may see such counts."""
    if not age_bands:
        raise InvalidInput("give at least one age band")
    age = _age_in_days(session, Immunization.date_administered)
    band = case(
        *[(age >= first_day, label) for label, first_day in reversed(age_bands)],
        else_=age_bands[0][0],
    )
    doses = (
        select(
            Immunization.cvx.label("cvx"),
            Immunization.lot_number.label("lot_number"),
            band.label("age_band"),
            Person.province_code.label("province_code"),
        )
        .join(Person, Person.id == Immunization.person_id)
        .where(Immunization.status == "completed")
    )
    if since is not None:
        doses = doses.where(Immunization.date_administered >= since)
    if until is not None:
        doses = doses.where(Immunization.date_administered <= until)
    rows = doses.subquery()
    columns = (rows.c.cvx, rows.c.lot_number, rows.c.age_band, rows.c.province_code)
    totals: dict[tuple[str, str | None, str, str | None], int] = {}
    for cvx, lot, age_band, province, count in session.execute(
        select(*columns, func.count()).group_by(*columns)
    ):
        key = (normalize_cvx(cvx), lot, age_band, province)
        totals[key] = totals.get(key, 0) + count
    return [DoseCount(*key, doses=count) for key, count in sorted(totals.items(), key=str)]


def _in_area(query: _Rows, area_code: str | None) -> _Rows:
    if area_code is None:
        return query
    column = {2: Person.province_code, 3: Person.district_code, 5: Person.commune_code}
    if len(area_code) not in column:
        raise InvalidInput(f"{area_code!r} is not a province, district or commune code")
    return query.where(column[len(area_code)] == area_code)


def analytics_persons(
    session: Session, *, area_code: str | None = None, chunk_size: int = 100_000
) -> Iterator[Sequence[tuple[str, date, str, str | None, str | None, str | None]]]:
    """The people of an area (a province, district or commune code; None: everywhere) as
    pseudonymous rows for aggregate statistics, in chunks: id, birth date, sex, province,
    district and commune codes; no name, no identifier. Merged records are left out. Callers
    check that their actor may see aggregates of the area."""
    query = _in_area(
        select(
            Person.id,
            Person.birth_date,
            Person.sex,
            Person.province_code,
            Person.district_code,
            Person.commune_code,
        ).where(Person.active.is_(True)),
        area_code,
    )
    result = session.execute(query.execution_options(yield_per=chunk_size))
    for chunk in result.partitions():
        yield [tuple(row) for row in chunk]  # type: ignore[misc]


def analytics_doses(
    session: Session, *, area_code: str | None = None, chunk_size: int = 100_000
) -> Iterator[Sequence[tuple[str, date, str]]]:
    """The doses that count of the same people, in chunks: person id, date given, CVX code.
    Doses entered in error, and doses of a recalled lot that must be given again, are left out."""
    query = _in_area(
        select(Immunization.person_id, Immunization.date_administered, Immunization.cvx)
        .join(Person, Person.id == Immunization.person_id)
        .where(
            Person.active.is_(True),
            Immunization.status == "completed",
            or_(Immunization.recall_action.is_(None), Immunization.recall_action != "revaccinate"),
        ),
        area_code,
    )
    result = session.execute(query.execution_options(yield_per=chunk_size))
    for chunk in result.partitions():
        yield [tuple(row) for row in chunk]  # type: ignore[misc]


# --- People to remind, for outreach ----------------------------------------------------------


class Contact(NamedTuple):
    """Whom to write to about a person: the person, or a guardian, and their phone number."""

    person_id: str
    name: str  # family name then given name, as Vietnamese names are written
    phone: str
    relationship: str | None  # None: the person themselves; else the guardian's relation


class OutreachPerson(NamedTuple):
    person: PersonOut
    contacts: list[Contact]  # the person's own phone first, then each guardian's with a phone


def _contacts(session: Session, persons: Sequence[Person]) -> dict[str, list[Contact]]:
    guardian_ids = {g.guardian_id for person in persons for g in person.guardians}
    guardians = {
        g.id: g for g in session.scalars(select(Person).where(Person.id.in_(guardian_ids)))
    }
    found: dict[str, list[Contact]] = {}
    for person in persons:
        contacts = []
        if person.phone:
            contacts.append(
                Contact(person.id, f"{person.family_name} {person.given_name}", person.phone, None)
            )
        for link in person.guardians:
            guardian = guardians.get(link.guardian_id)
            if guardian is not None and guardian.phone and guardian.active:
                name = f"{guardian.family_name} {guardian.given_name}"
                contacts.append(Contact(guardian.id, name, guardian.phone, link.relation))
        found[person.id] = contacts
    return found


def persons_for_outreach(
    session: Session,
    actor: Actor,
    *,
    site_id: str | None = None,
    area_code: str | None = None,
    chunk_size: int = 500,
) -> Iterator[list[OutreachPerson]]:
    """Active people managed by a site and/or living in an area (a province, district or commune
    code), only those the actor may read, each with how to reach them, in chunks by id. The
    caller audits what it shows."""
    require(actor, Action.SEARCH)
    if site_id is None and area_code is None:
        raise InvalidInput("name a site or an area")
    query = select(Person).where(Person.active.is_(True))
    if site_id is not None:
        query = query.where(Person.managing_site_id == site_id)
    query = _reach(_in_area(query, area_code), actor)
    after = ""
    while True:
        chunk = list(
            session.scalars(
                query.where(Person.id > after)
                .order_by(Person.id)
                .limit(chunk_size)
                .options(selectinload(Person.identifiers), selectinload(Person.guardians))
            )
        )
        if not chunk:
            return
        contacts = _contacts(session, chunk)
        yield [OutreachPerson(person_out(p), contacts[p.id]) for p in chunk]
        after = chunk[-1].id


def person_contacts(session: Session, actor: Actor, person_id: str) -> OutreachPerson:
    """A person and how to reach them, for a message about them; audited as a read."""
    person = _load(session, person_id)
    require_person(session, actor, Action.READ, person)
    audit(session, actor, "read", "contact", person.id, person_id=person.id, purpose="outreach")
    return OutreachPerson(person_out(person), _contacts(session, [person])[person.id])

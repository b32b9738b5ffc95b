"""Finding people recorded twice: candidates for a record being entered, and a scan of an area.

Neither looks at every pair. Candidates come through blocking keys that the indexes serve, and
`dedup.score` decides. On entry: the same national ID, identifier or phone; a birth date in
`dedup.near_birth_dates` together with the same given name or commune; or a name starting with
the entered one, born the same year. In bulk, three passes over the area, each reading it once in
index order, in pages (keyset pagination, so memory stays at a page and a block):

1. by birth date: the people born on one day are compared with each other, with those born the
   day before and with those born on the day-and-month-swapped date, when they share a
   `dedup.blocking_keys` key (given name, name words in any order, phone or commune);
2. by phone: the people sharing a phone number;
3. by name: the people with the same folded name born in the same year.

A block larger than `MAX_BLOCK` (a placeholder phone number shared by thousands) is compared
only within the same birth month. Identifiers are left out of the scan: a (system, value) pair
belongs to one person only, so no two records share one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations, groupby, product
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from immunis.access.policy import Action, Actor
from immunis.access.service import audit, require
from immunis.registry.dedup import (
    POSSIBLE,
    PersonRecord,
    blocking_keys,
    near_birth_dates,
    score,
    transposed,
)
from immunis.registry.models import Person, PersonIdentifier
from immunis.registry.names import fold, name_key
from immunis.registry.schemas import PersonIn, PersonMatch
from immunis.registry.service import _reach, person_out

# More candidates than this for one entry means the blocking keys are too loose, not more matches.
CANDIDATE_LIMIT = 500
MATCH_LIMIT = 10
MAX_BLOCK = 1000


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """Two records of the same person, perhaps: ids in sorted order, the score and why."""

    first_id: str
    second_id: str
    score: float
    reasons: tuple[str, ...]


def record_of(person: Person) -> PersonRecord:
    """The scoring's view of a stored person."""
    return PersonRecord(
        family_name=person.family_name,
        given_name=person.given_name,
        birth_date=person.birth_date,
        sex=person.sex,
        national_id=person.national_id,
        phone=person.phone,
        commune_code=person.commune_code,
        identifiers=frozenset((i.system, i.value) for i in person.identifiers),
    )


def record_of_input(data: PersonIn) -> PersonRecord:
    """The scoring's view of a person being entered."""
    return PersonRecord(
        family_name=data.family_name,
        given_name=data.given_name,
        birth_date=data.birth_date,
        sex=data.sex,
        national_id=data.national_id,
        phone=data.phone,
        commune_code=data.address.commune_code if data.address else None,
        identifiers=frozenset((i.system, i.value) for i in data.identifiers),
    )


def _entry_blocks(data: PersonIn) -> list[ColumnElement[bool]]:
    given = fold(data.given_name).rpartition(" ")[2]
    alike = [
        Person.name_key.endswith(f" {given}", autoescape=True),
        # Written the other way round, the given name comes first.
        Person.name_key.startswith(f"{given} ", autoescape=True),
    ]
    if data.address and data.address.commune_code:
        alike.append(Person.commune_code == data.address.commune_code)
    year = data.birth_date.year
    blocks = [
        and_(Person.birth_date.in_(sorted(near_birth_dates(data.birth_date))), or_(*alike)),
        and_(
            Person.name_key.startswith(
                name_key(data.family_name, data.given_name), autoescape=True
            ),
            Person.birth_date.between(date(year, 1, 1), date(year, 12, 31)),
        ),
    ]
    if data.national_id:
        blocks.append(Person.national_id == data.national_id)
    if data.phone:
        blocks.append(Person.phone == data.phone)
    if data.identifiers:
        holders = select(PersonIdentifier.person_id).where(
            or_(
                *(
                    and_(PersonIdentifier.system == i.system, PersonIdentifier.value == i.value)
                    for i in data.identifiers
                )
            )
        )
        blocks.append(Person.id.in_(holders))
    return blocks


def find_likely_duplicates(
    session: Session, actor: Actor, data: PersonIn, *, excluding: str | None = None
) -> list[PersonMatch]:
    """The people the actor may see who may be the person in `data` (score at least
    `dedup.POSSIBLE`), best first. `excluding` leaves out a record (the one just made from it)."""
    require(actor, Action.SEARCH)
    query = select(Person).where(Person.active.is_(True), or_(*_entry_blocks(data)))
    if excluding:
        query = query.where(Person.id != excluding)
    query = (
        _reach(query, actor)
        .options(selectinload(Person.identifiers), selectinload(Person.guardians))
        .limit(CANDIDATE_LIMIT)
    )
    entered = record_of_input(data)
    scored = [(score(entered, record_of(p)), p) for p in session.scalars(query)]
    matches = sorted(
        ((s, p) for s, p in scored if s.value >= POSSIBLE), key=lambda m: (-m[0].value, m[1].id)
    )[:MATCH_LIMIT]
    audit(
        session,
        actor,
        "match",
        "person",
        detail={"results": [p.id for _, p in matches]},
    )
    return [
        PersonMatch(person=person_out(p), score=s.value, reasons=list(s.reasons))
        for s, p in matches
    ]


# --- The bulk scan ----------------------------------------------------------------------------

_COLUMNS = (
    Person.id,
    Person.family_name,
    Person.given_name,
    Person.birth_date,
    Person.sex,
    Person.national_id,
    Person.phone,
    Person.commune_code,
    Person.name_key,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    record: PersonRecord
    keys: frozenset[str]


def _entry(row: Row) -> _Entry:
    record = PersonRecord(
        family_name=row.family_name,
        given_name=row.given_name,
        birth_date=row.birth_date,
        sex=row.sex,
        national_id=row.national_id,
        phone=row.phone,
        commune_code=row.commune_code,
    )
    return _Entry(row.id, record, blocking_keys(record))


def _scope(actor: Actor, province_code: str | None) -> Select:
    query = select(*_COLUMNS).where(Person.active.is_(True))
    if province_code:
        query = query.where(Person.province_code == province_code)
    return _reach(query, actor)


def _pages(
    session: Session,
    query: Select,
    column: Any,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> Iterator[Row]:
    """Rows of `query` in (`column`, id) order, `batch_size` at a time, each page found from where
    the last ended (keyset pagination: no offset to skip, no cursor held open)."""
    after: Row | None = None
    while True:
        page = query
        if after is not None:
            last = after._mapping[column]
            # The plain comparison lets the database use the column's own index.
            page = page.where(column >= last, tuple_(column, Person.id) > tuple_(last, after.id))
        rows = session.execute(page.order_by(column, Person.id).limit(batch_size)).all()
        if progress:
            progress(len(rows))
        yield from rows
        if len(rows) < batch_size:
            return
        after = rows[-1]


def _in_block(entries: Sequence[_Entry]) -> Iterator[tuple[_Entry, _Entry]]:
    """Every pair in a block; in a block too large, only the pairs born in the same month."""
    if len(entries) <= MAX_BLOCK:
        yield from combinations(entries, 2)
        return
    by_month: dict[date, list[_Entry]] = defaultdict(list)
    for entry in entries:
        by_month[entry.record.birth_date.replace(day=1)].append(entry)
    for group in by_month.values():
        yield from combinations(group, 2)


class _Comparer:
    """Scores pairs, and reports each pair at or above `min_score` once."""

    def __init__(self, min_score: float) -> None:
        self.min_score = min_score
        self.reported: set[tuple[str, str]] = set()

    def compare(self, pairs: Iterable[tuple[_Entry, _Entry]]) -> Iterator[DuplicatePair]:
        unique = {((a.id, b.id) if a.id < b.id else (b.id, a.id)): (a, b) for a, b in pairs}
        for ids, (a, b) in unique.items():
            if ids in self.reported:
                continue
            found = score(a.record, b.record)
            if found.value >= self.min_score:
                self.reported.add(ids)
                yield DuplicatePair(ids[0], ids[1], found.value, found.reasons)

    def sharing_keys(
        self, left: Iterable[_Entry], right: Iterable[_Entry] | None = None
    ) -> Iterator[DuplicatePair]:
        """Pairs that share a blocking key: within `left`, or one from `left` and one from
        `right`."""
        blocks: dict[str, tuple[list[_Entry], list[_Entry]]] = defaultdict(lambda: ([], []))
        for entry in left:
            for key in entry.keys:
                blocks[key][0].append(entry)
        for entry in right or ():
            for key in entry.keys:
                blocks[key][1].append(entry)
        if right is None:
            pairs = (pair for mine, _ in blocks.values() for pair in _in_block(mine))
        else:
            pairs = (pair for mine, theirs in blocks.values() for pair in product(mine, theirs))
        yield from self.compare(pairs)


def count_scan_rows(session: Session, actor: Actor, *, province_code: str | None = None) -> int:
    """How many rows `scan_duplicates` reads in its three passes (for a progress bar)."""
    require(actor, Action.MERGE)
    scope = _scope(actor, province_code).subquery()
    everyone = session.scalar(select(func.count()).select_from(scope)) or 0
    with_phone = (
        session.scalar(select(func.count()).select_from(scope).where(scope.c.phone.is_not(None)))
        or 0
    )
    return 2 * everyone + with_phone


def scan_duplicates(
    session: Session,
    actor: Actor,
    *,
    province_code: str | None = None,
    min_score: float = POSSIBLE,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> Iterator[DuplicatePair]:
    """Pairs of records (among those the actor may see, in the province if one is named) that
    score at least `min_score`, each once. `progress` is told how many rows each page read."""
    require(actor, Action.MERGE)
    audit(
        session,
        actor,
        "scan",
        "person",
        detail={"province_code": province_code, "min_score": min_score},
    )
    scope = _scope(actor, province_code)
    comparer = _Comparer(min_score)
    yield from _by_birth_date(session, scope, comparer, batch_size, progress)
    with_phone = scope.where(Person.phone.is_not(None))
    for _, group in groupby(
        _pages(session, with_phone, Person.phone, batch_size, progress), key=lambda r: r.phone
    ):
        yield from comparer.compare(_in_block([_entry(r) for r in group]))
    for _, group in groupby(
        _pages(session, scope, Person.name_key, batch_size, progress), key=lambda r: r.name_key
    ):
        by_year: dict[int, list[_Entry]] = defaultdict(list)
        for row in group:
            by_year[row.birth_date.year].append(_entry(row))
        for entries in by_year.values():
            yield from comparer.compare(_in_block(entries))


def _by_birth_date(
    session: Session,
    scope: Select,
    comparer: _Comparer,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> Iterator[DuplicatePair]:
    yesterday: tuple[date, list[_Entry]] | None = None
    for day, group in groupby(
        _pages(session, scope, Person.birth_date, batch_size, progress), key=lambda r: r.birth_date
    ):
        born = [_entry(row) for row in group]
        yield from comparer.sharing_keys(born)
        if yesterday and (day - yesterday[0]).days == 1:
            yield from comparer.sharing_keys(born, yesterday[1])
        swapped = transposed(day)
        # Each swapped pair of dates once, from the earlier one; the later one is fetched.
        if swapped and swapped > day:
            other = [_entry(r) for r in session.execute(scope.where(Person.birth_date == swapped))]
            yield from comparer.sharing_keys(born, other)
        yesterday = (day, born)

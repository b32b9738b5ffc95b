"""Merging a person's duplicate record into the record that survives, and undoing the merge.

A merge moves everything that hangs off the duplicate (doses, observations, identifiers,
guardianships as guardian and as child) onto the survivor, fills the survivor's empty national
ID, phone and address from the duplicate, and leaves the duplicate inactive with
`merged_into_id` pointing at the survivor. Its `PersonMerge` row says exactly what moved (row
ids) and what the survivor's fields were, which is what `undo_merge` needs to put it all back.
Both run in the caller's transaction: all of it happens, or none of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from immunis.access.policy import Action, Actor
from immunis.access.service import audit, require, require_person
from immunis.db import utcnow
from immunis.errors import Conflict, NotFound
from immunis.registry.models import (
    Guardianship,
    Immunization,
    Person,
    PersonIdentifier,
    PersonMerge,
    PersonObservation,
)
from immunis.registry.schemas import MergeOut
from immunis.registry.service import _load

# The rows that belong to a person through a person_id column, by their name in `moved`.
OWNED_ROWS: dict[str, InstrumentedAttribute[str]] = {
    "immunizations": Immunization.person_id,
    "observations": PersonObservation.person_id,
    "identifiers": PersonIdentifier.person_id,
}

# Fields the survivor takes from the duplicate when it has none of them; an address goes whole.
FILLABLE: dict[str, tuple[str, ...]] = {
    "national_id": ("national_id",),
    "phone": ("phone",),
    "address": ("address_line", "province_code", "district_code", "commune_code"),
}


def merge_out(row: PersonMerge) -> MergeOut:
    moved = dict(row.moved)
    return MergeOut(
        id=row.id,
        survivor_id=row.survivor_id,
        merged_id=row.merged_id,
        reason=moved.pop("reason", ""),
        merged_at=row.merged_at,
        merged_by=row.merged_by,
        undone_at=row.undone_at,
        undone_by=row.undone_by,
        moved=moved,
    )


def _check_merge(session: Session, actor: Actor, survivor: Person, merged: Person) -> None:
    require_person(session, actor, Action.MERGE, survivor)
    require_person(session, actor, Action.MERGE, merged)
    if not survivor.active:
        raise Conflict(
            f"person {survivor.id} is inactive (merged into {survivor.merged_into_id}): "
            "merge into that record instead"
        )
    if not merged.active:
        raise Conflict(f"person {merged.id} was already merged into {merged.merged_into_id}")
    if survivor.national_id and merged.national_id and survivor.national_id != merged.national_id:
        raise Conflict("the two records have different national IDs: they are two people")


def _move_owned(session: Session, from_id: str, to_id: str) -> dict[str, list[str]]:
    """Hand every row owned by `from_id` to `to_id`; the ids of what moved, by kind."""
    moved = {}
    for kind, column in OWNED_ROWS.items():
        model = column.class_
        ids = sorted(session.scalars(select(model.id).where(column == from_id)))
        if ids:
            session.execute(update(model).where(model.id.in_(ids)).values({column.key: to_id}))
        moved[kind] = ids
    return moved


def _guardianship_exists(session: Session, guardian_id: str, child_id: str) -> bool:
    found = session.scalars(
        select(Guardianship.id).where(
            Guardianship.guardian_id == guardian_id, Guardianship.child_id == child_id
        )
    ).first()
    return found is not None


def _move_guardianships(
    session: Session, survivor: Person, merged: Person
) -> dict[str, list[dict[str, str]]]:
    """Point the duplicate's guardianships (as guardian and as child) at the survivor. One that
    would repeat a link the survivor has, or make the survivor their own guardian, is removed."""
    moved: list[dict[str, str]] = []
    removed: list[dict[str, str]] = []
    links = session.scalars(
        select(Guardianship)
        .where(or_(Guardianship.guardian_id == merged.id, Guardianship.child_id == merged.id))
        .order_by(Guardianship.id)
    ).all()
    for link in links:
        before = {"id": link.id, "guardian_id": link.guardian_id, "child_id": link.child_id}
        guardian = survivor.id if link.guardian_id == merged.id else link.guardian_id
        child = survivor.id if link.child_id == merged.id else link.child_id
        if guardian == child or _guardianship_exists(session, guardian, child):
            removed.append({**before, "relation": link.relation})
            session.delete(link)
        else:
            moved.append(before)
            link.guardian_id, link.child_id = guardian, child
        session.flush()
    return {"guardianships": moved, "guardianships_removed": removed}


def _fill_in(session: Session, survivor: Person, merged: Person) -> dict[str, Any]:
    """Copy onto the survivor each group of fields it lacks and the duplicate has."""
    before = {f: getattr(survivor, f) for fields in FILLABLE.values() for f in fields}
    filled: dict[str, dict[str, Any]] = {}
    for group, fields in FILLABLE.items():
        lacking = not any(getattr(survivor, f) for f in fields)
        if lacking and any(getattr(merged, f) for f in fields):
            filled[group] = {f: getattr(merged, f) for f in fields}
    if "national_id" in filled:
        # National IDs are unique: off the duplicate before it goes on the survivor.
        merged.national_id = None
        session.flush()
    for values in filled.values():
        for field, value in values.items():
            setattr(survivor, field, value)
    return {"survivor_before": before, "filled": filled}


def merge_persons(
    session: Session, actor: Actor, survivor_id: str, merged_id: str, reason: str
) -> MergeOut:
    """Merge the record `merged_id` into `survivor_id` (see the module's docstring). Refused
    (Conflict) for a person and themselves, an inactive record on either side, or two different
    national IDs; the actor needs the right to merge both records."""
    require(actor, Action.MERGE)
    if survivor_id == merged_id:
        raise Conflict("a person cannot be merged into themselves")
    survivor = _load(session, survivor_id)
    merged = _load(session, merged_id)
    _check_merge(session, actor, survivor, merged)
    moved: dict[str, Any] = {
        "reason": reason,
        **_move_owned(session, merged.id, survivor.id),
        **_move_guardianships(session, survivor, merged),
        **_fill_in(session, survivor, merged),
    }
    merged.active = False
    merged.merged_into_id = survivor.id
    row = PersonMerge(
        survivor_id=survivor.id, merged_id=merged.id, merged_by=actor.user_id, moved=moved
    )
    session.add(row)
    session.flush()
    # The collections were loaded before the rows under them moved.
    session.expire(survivor, ["identifiers", "guardians"])
    session.expire(merged, ["identifiers", "guardians"])
    detail = {"survivor_id": survivor.id, "merged_id": merged.id, "reason": reason}
    for person in (survivor, merged):
        audit(session, actor, "merge", "person_merge", row.id, person_id=person.id, detail=detail)
    return merge_out(row)


def _restore_guardianships(session: Session, moved: dict[str, Any]) -> None:
    for before in moved["guardianships"]:
        link = session.get(Guardianship, before["id"])
        # A link the survivor's record dropped since the merge stays dropped.
        if link is not None:
            link.guardian_id, link.child_id = before["guardian_id"], before["child_id"]
    session.flush()
    for before in moved["guardianships_removed"]:
        if not _guardianship_exists(session, before["guardian_id"], before["child_id"]):
            session.add(Guardianship(**before))
    session.flush()


def _restore_fields(
    session: Session, survivor: Person, merged: Person, moved: dict[str, Any]
) -> None:
    """Give the survivor back its own fields, where they still hold what the merge put there
    (a value changed since the merge is newer news and stays), and the duplicate its national
    ID."""
    for values in moved["filled"].values():
        if all(getattr(survivor, f) == v for f, v in values.items()):
            for field in values:
                setattr(survivor, field, moved["survivor_before"][field])
    national_id = moved["filled"].get("national_id", {}).get("national_id")
    if national_id:
        session.flush()
        holder = session.scalars(select(Person.id).where(Person.national_id == national_id)).first()
        if holder is not None:
            raise Conflict(
                f"national ID {national_id} is now recorded for person {holder}: "
                "correct that record before undoing the merge"
            )
        merged.national_id = national_id


def undo_merge(session: Session, actor: Actor, merge_id: str) -> MergeOut:
    """Put back everything a merge moved and changed. Refused (Conflict) when it was undone
    already, or when the survivor has since been merged into another record (undo that first)."""
    require(actor, Action.MERGE)
    row = session.get(PersonMerge, merge_id)
    if row is None:
        raise NotFound(f"no merge {merge_id}")
    survivor = _load(session, row.survivor_id)
    merged = _load(session, row.merged_id)
    require_person(session, actor, Action.MERGE, survivor)
    require_person(session, actor, Action.MERGE, merged)
    if row.undone_at is not None:
        raise Conflict(f"merge {merge_id} was undone already")
    if not survivor.active:
        raise Conflict(
            f"person {survivor.id} has since been merged into {survivor.merged_into_id}: "
            "undo that merge first"
        )
    moved = row.moved
    for kind, column in OWNED_ROWS.items():
        model = column.class_
        if moved[kind]:
            session.execute(
                update(model).where(model.id.in_(moved[kind])).values({column.key: merged.id})
            )
    _restore_guardianships(session, moved)
    _restore_fields(session, survivor, merged, moved)
    merged.active = True
    merged.merged_into_id = None
    row.undone_at = utcnow()
    row.undone_by = actor.user_id
    session.flush()
    session.expire(survivor, ["identifiers", "guardians"])
    session.expire(merged, ["identifiers", "guardians"])
    detail = {"survivor_id": survivor.id, "merged_id": merged.id}
    for person in (survivor, merged):
        audit(session, actor, "unmerge", "person_merge", row.id, person_id=person.id, detail=detail)
    return merge_out(row)

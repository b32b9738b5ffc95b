"""Possible duplicate AEFI reports: the same reaction reported twice (a parent and a vaccinator,
or a paper form entered again). Pure functions on the facts that identify a report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

ONSET_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class ReportKey:
    report_id: str
    person_id: str
    events: frozenset[str]
    onset: date
    immunization_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    report_id: str
    other_id: str
    score: float  # 0 to 1: how alike the two reports are
    reasons: tuple[str, ...]


def compare(
    new: ReportKey, old: ReportKey, window_days: int = ONSET_WINDOW_DAYS
) -> DuplicateMatch | None:
    """A match when both reports are about the same person, share an event term and have onsets
    within `window_days`; the score adds how many terms they share, how close the onsets are
    and whether they name the same dose."""
    if new.person_id != old.person_id or new.report_id == old.report_id:
        return None
    shared = new.events & old.events
    apart = abs((new.onset - old.onset).days)
    if not shared or apart > window_days:
        return None
    same_dose = bool(new.immunization_ids & old.immunization_ids)
    overlap = len(shared) / len(new.events | old.events)
    closeness = 1 - apart / (window_days + 1)
    score = round(0.4 * overlap + 0.3 * closeness + 0.3 * same_dose, 3)
    reasons = [
        "same person",
        f"shared events: {', '.join(sorted(shared))}",
        f"onsets {apart} day{'s' if apart != 1 else ''} apart",
    ]
    if same_dose:
        reasons.append("same dose")
    return DuplicateMatch(new.report_id, old.report_id, score, tuple(reasons))


def possible_duplicates(
    new: ReportKey, others: Iterable[ReportKey], window_days: int = ONSET_WINDOW_DAYS
) -> list[DuplicateMatch]:
    """The reports `new` may duplicate, most alike first."""
    matches = (compare(new, other, window_days) for other in others)
    return sorted((m for m in matches if m), key=lambda m: (-m.score, m.other_id))

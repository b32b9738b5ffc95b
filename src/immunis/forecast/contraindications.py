"""CDSi contraindications (7.3): observations that rule out an antigen or some of its vaccines."""

from __future__ import annotations

from immunis.forecast.context import PatientContext
from immunis.schedule.model import Antigen, Contraindication, SeriesDose


def _applies(contraindication: Contraindication, context: PatientContext) -> bool:
    """Tables 7-5 and 7-6: an active observation, within the contraindication's ages."""
    on = context.assessment_date
    if not context.has_observation(contraindication.observation_code, on):
        return False
    if contraindication.begin_age and on < context.age_date(contraindication.begin_age):
        return False
    return not (contraindication.end_age and on >= context.age_date(contraindication.end_age))


def contraindicated_vaccines(antigen: Antigen, context: PatientContext) -> frozenset[str]:
    """CVX codes of the antigen's vaccines the patient must not get now."""
    if not context.patient.observations:
        return frozenset()
    return frozenset(
        cvx for c in antigen.contraindications if c.cvx and _applies(c, context) for cvx in c.cvx
    )


def antigen_contraindicated(antigen: Antigen, context: PatientContext) -> bool:
    """Table 7-5: a contraindication to the whole antigen applies."""
    if not context.patient.observations:
        return False
    return any(not c.cvx and _applies(c, context) for c in antigen.contraindications)


def dose_contraindicated(target: SeriesDose, blocked_cvx: frozenset[str]) -> bool:
    """Table 7-7, second row: every preferable vaccine of the dose is contraindicated."""
    return bool(blocked_cvx) and all(v.cvx in blocked_cvx for v in target.preferable_vaccines)

"""Loader for CDC's CDSi supporting data (ScheduleSupportingData.xml + AntigenSupportingData-*.xml).

Takes bytes (or a folder path for convenience) and returns a `Schedule`; it keeps every field the
engine uses and normalises CDC's spelling variants (``Vaccine Count By Age``, ``valid``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from immunis.schedule.model import (
    AgeRule,
    AllowableInterval,
    AllowableVaccine,
    Antigen,
    AntigenAssociation,
    BirthDateImmunity,
    ClinicalHistoryImmunity,
    ConditionalSkip,
    ConditionType,
    Contraindication,
    Duration,
    Immunity,
    InadvertentVaccine,
    Indication,
    IntervalRule,
    LiveVirusConflict,
    Observation,
    PreferableVaccine,
    Schedule,
    SeasonalRecommendation,
    Series,
    SeriesDose,
    SeriesSelection,
    SeriesType,
    SkipCondition,
    SkipSet,
    Vaccine,
    VaccineGroup,
    normalize_cvx,
)

_CONDITION_TYPES = {kind.value.lower(): kind for kind in ConditionType}


class SupportingDataError(ValueError):
    """The supporting data does not have the shape CDSi describes."""


def _text(element: ET.Element | None, tag: str) -> str | None:
    if element is None:
        return None
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    value = child.text.strip()
    return value or None


def _duration(element: ET.Element | None, tag: str) -> Duration | None:
    value = _text(element, tag)
    return Duration.parse(value) if value else None


def _yes(element: ET.Element | None, tag: str) -> bool:
    return (_text(element, tag) or "").lower() in ("yes", "y", "true")


def _date(element: ET.Element | None, tag: str) -> date | None:
    value = _text(element, tag)
    if value is None:
        return None
    for pattern in ("%Y%m%d", "%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise SupportingDataError(f"unreadable date {value!r} in <{tag}>")


def _codes(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(normalize_cvx(code) for code in value.replace(",", ";").split(";") if code.strip())


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _dose_number(text: str | None) -> int:
    if not text:
        raise SupportingDataError("series dose without a dose number")
    return int(text.replace("Dose", "").strip())


def _age_rule(element: ET.Element) -> AgeRule:
    return AgeRule(
        absolute_min_age=_duration(element, "absMinAge"),
        min_age=_duration(element, "minAge"),
        earliest_recommended_age=_duration(element, "earliestRecAge"),
        latest_recommended_age=_duration(element, "latestRecAge"),
        max_age=_duration(element, "maxAge"),
        effective_date=_date(element, "effectiveDate"),
        cessation_date=_date(element, "cessationDate"),
    )


def _interval_rule(element: ET.Element) -> IntervalRule | None:
    if len(element) == 0:
        return None
    observation = element.find("fromRelevantObs")
    return IntervalRule(
        from_previous=_yes(element, "fromPrevious"),
        from_target_dose=_int(_text(element, "fromTargetDose")),
        from_most_recent_cvx=_codes(_text(element, "fromMostRecent")),
        from_relevant_observation=_text(observation, "code"),
        absolute_min_interval=_duration(element, "absMinInt"),
        min_interval=_duration(element, "minInt"),
        earliest_recommended_interval=_duration(element, "earliestRecInt"),
        latest_recommended_interval=_duration(element, "latestRecInt"),
        overrides_age=(_text(element, "intervalPriority") or "").lower() == "override",
        effective_date=_date(element, "effectiveDate"),
        cessation_date=_date(element, "cessationDate"),
    )


def _allowable_interval(element: ET.Element) -> AllowableInterval | None:
    if len(element) == 0:
        return None
    return AllowableInterval(
        from_previous=_yes(element, "fromPrevious"),
        from_target_dose=_int(_text(element, "fromTargetDose")),
        absolute_min_interval=_duration(element, "absMinInt"),
        effective_date=_date(element, "effectiveDate"),
        cessation_date=_date(element, "cessationDate"),
    )


def _preferable(element: ET.Element) -> PreferableVaccine | None:
    cvx = _text(element, "cvx")
    if cvx is None:
        return None
    volume = _text(element, "volume")
    return PreferableVaccine(
        vaccine_type=_text(element, "vaccineType") or "",
        cvx=normalize_cvx(cvx),
        begin_age=_duration(element, "beginAge"),
        end_age=_duration(element, "endAge"),
        trade_name=_text(element, "tradeName"),
        mvx=_text(element, "mvx"),
        volume_ml=float(volume) if volume else None,
        forecast_vaccine_type=_yes(element, "forecastVaccineType"),
    )


def _allowable(element: ET.Element) -> AllowableVaccine | None:
    cvx = _text(element, "cvx")
    if cvx is None:
        return None
    return AllowableVaccine(
        vaccine_type=_text(element, "vaccineType") or "",
        cvx=normalize_cvx(cvx),
        begin_age=_duration(element, "beginAge"),
        end_age=_duration(element, "endAge"),
    )


def _inadvertent(element: ET.Element) -> InadvertentVaccine | None:
    cvx = _text(element, "cvx")
    if cvx is None:
        return None
    return InadvertentVaccine(_text(element, "vaccineType") or "", normalize_cvx(cvx))


def _condition(element: ET.Element) -> SkipCondition:
    kind_text = (_text(element, "conditionType") or "").lower()
    if kind_text not in _CONDITION_TYPES:
        raise SupportingDataError(f"unknown skip condition type {kind_text!r}")
    dose_type = _text(element, "doseType")
    logic = _text(element, "doseCountLogic")
    return SkipCondition(
        condition_id=_int(_text(element, "conditionID")) or 0,
        condition_type=_CONDITION_TYPES[kind_text],
        start_date=_date(element, "startDate"),
        end_date=_date(element, "endDate"),
        begin_age=_duration(element, "beginAge"),
        end_age=_duration(element, "endAge"),
        interval=_duration(element, "interval"),
        dose_count=_int(_text(element, "doseCount")),
        dose_type=dose_type.capitalize() if dose_type else None,
        dose_count_logic=logic.lower() if logic else None,
        vaccine_types=_codes(_text(element, "vaccineTypes")),
        series_groups=tuple(
            g.strip() for g in (_text(element, "seriesGroups") or "").split(";") if g.strip()
        ),
    )


def _logic(value: str | None) -> str | None:
    if value is None or value.lower() == "n/a":
        return None
    return value.upper()


def _conditional_skip(element: ET.Element) -> ConditionalSkip | None:
    context = _text(element, "context")
    if context is None:
        return None
    sets = tuple(
        SkipSet(
            set_id=_int(_text(set_element, "setID")) or 0,
            description=_text(set_element, "setDescription") or "",
            condition_logic=_logic(_text(set_element, "conditionLogic")),
            conditions=tuple(_condition(c) for c in set_element.findall("condition")),
            effective_date=_date(set_element, "effectiveDate"),
            cessation_date=_date(set_element, "cessationDate"),
        )
        for set_element in element.findall("set")
    )
    return ConditionalSkip(context=context, set_logic=_logic(_text(element, "setLogic")), sets=sets)


def _present(items: Iterable[object | None]) -> tuple[object, ...]:
    return tuple(item for item in items if item is not None)


def _series_dose(element: ET.Element) -> SeriesDose:
    seasonal = element.find("seasonalRecommendation")
    season = None
    if seasonal is not None and len(seasonal):
        season = SeasonalRecommendation(_date(seasonal, "startDate"), _date(seasonal, "endDate"))
    return SeriesDose(
        dose_number=_dose_number(_text(element, "doseNumber")),
        ages=tuple(_age_rule(e) for e in element.findall("age")),
        intervals=tuple(r for r in (_interval_rule(e) for e in element.findall("interval")) if r),
        allowable_intervals=tuple(
            r for r in (_allowable_interval(e) for e in element.findall("allowableInterval")) if r
        ),
        preferable_vaccines=tuple(
            v for v in (_preferable(e) for e in element.findall("preferableVaccine")) if v
        ),
        allowable_vaccines=tuple(
            v for v in (_allowable(e) for e in element.findall("allowableVaccine")) if v
        ),
        inadvertent_vaccines=tuple(
            v for v in (_inadvertent(e) for e in element.findall("inadvertentVaccine")) if v
        ),
        conditional_skips=tuple(
            s for s in (_conditional_skip(e) for e in element.findall("conditionalSkip")) if s
        ),
        recurring=_yes(element, "recurringDose"),
        seasonal_recommendation=season,
    )


def _indication(element: ET.Element) -> Indication | None:
    observation = element.find("observationCode")
    code = _text(observation, "code")
    if code is None:
        return None
    return Indication(
        observation_code=code,
        observation_text=_text(observation, "text"),
        description=_text(element, "description"),
        begin_age=_duration(element, "beginAge"),
        end_age=_duration(element, "endAge"),
        guidance=_text(element, "guidance"),
    )


def _series(element: ET.Element) -> Series:
    select = element.find("selectSeries")
    series_type_text = _text(element, "seriesType") or "Standard"
    return Series(
        name=_text(element, "seriesName") or "",
        target_disease=_text(element, "targetDisease") or "",
        vaccine_group=_text(element, "vaccineGroup") or "",
        series_type=SeriesType(series_type_text),
        selection=SeriesSelection(
            default_series=_yes(select, "defaultSeries"),
            product_path=_yes(select, "productPath"),
            series_group_name=_text(select, "seriesGroupName"),
            series_group=_text(select, "seriesGroup"),
            series_priority=_text(select, "seriesPriority") or "A",
            series_preference=_int(_text(select, "seriesPreference")) or 1,
            min_age_to_start=_duration(select, "minAgeToStart"),
            max_age_to_start=_duration(select, "maxAgeToStart"),
        ),
        doses=tuple(_series_dose(e) for e in element.findall("seriesDose")),
        admin_guidance=tuple(
            e.text.strip()
            for e in element.findall("seriesAdminGuidance")
            if e.text and e.text.strip()
        ),
        equivalent_series_groups=_text(element, "equivalentSeriesGroups"),
        required_gender=tuple(
            e.text.strip() for e in element.findall("requiredGender") if e.text and e.text.strip()
        ),
        indications=tuple(i for i in (_indication(e) for e in element.findall("indication")) if i),
    )


def _contraindications(root: ET.Element) -> tuple[Contraindication, ...]:
    found: list[Contraindication] = []
    for scope in ("contraindications/vaccineGroup", "contraindications/vaccine"):
        for element in root.findall(f"{scope}/contraindication"):
            code = _text(element, "observationCode")
            if code is None:
                continue
            vaccines = element.findall("contraindicatedVaccine")
            found.append(
                Contraindication(
                    observation_code=code,
                    observation_title=_text(element, "observationTitle") or "",
                    text=_text(element, "contraindicationText"),
                    guidance=_text(element, "contraindicationGuidance"),
                    begin_age=_duration(vaccines[0] if vaccines else element, "beginAge"),
                    end_age=_duration(vaccines[0] if vaccines else element, "endAge"),
                    cvx=tuple(normalize_cvx(_text(v, "cvx") or "") for v in vaccines),
                )
            )
    return tuple(found)


def _immunity(root: ET.Element) -> Immunity:
    element = root.find("immunity")
    if element is None:
        return Immunity()
    clinical = tuple(
        ClinicalHistoryImmunity(_text(e, "guidelineCode") or "", _text(e, "guidelineTitle") or "")
        for e in element.findall("clinicalHistory")
        if _text(e, "guidelineCode")
    )
    births: list[BirthDateImmunity] = []
    for e in element.findall("dateOfBirth"):
        born = _date(e, "immunityBirthDate")
        if born is None:
            continue
        exclusions = tuple(
            (_text(x, "exclusionCode") or "", _text(x, "exclusionTitle") or "")
            for x in e.findall("exclusion")
            if _text(x, "exclusionCode")
        )
        births.append(BirthDateImmunity(born, _text(e, "birthCountry"), exclusions))
    return Immunity(clinical_history=clinical, birth_dates=tuple(births))


def _root(data: bytes) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as error:
        raise SupportingDataError(f"not well-formed XML: {error}") from error


def parse_antigen(data: bytes) -> Antigen:
    """One AntigenSupportingData XML document."""
    root = _root(data)
    series = tuple(_series(e) for e in root.findall("series"))
    if not series:
        raise SupportingDataError("antigen supporting data without any series")
    return Antigen(
        name=series[0].target_disease,
        series=series,
        immunity=_immunity(root),
        contraindications=_contraindications(root),
    )


def parse_schedule(
    schedule_data: bytes,
    antigen_data: Iterable[bytes],
    *,
    schedule_id: str = "us-acip",
    title: str = "US ACIP schedule (CDC CDSi supporting data)",
    version: str = "",
) -> Schedule:
    """ScheduleSupportingData.xml plus every AntigenSupportingData document, as one Schedule."""
    root = _root(schedule_data)
    conflicts = tuple(
        LiveVirusConflict(
            previous_vaccine_type=_text(e.find("previous"), "vaccineType") or "",
            previous_cvx=normalize_cvx(_text(e.find("previous"), "cvx") or ""),
            current_vaccine_type=_text(e.find("current"), "vaccineType") or "",
            current_cvx=normalize_cvx(_text(e.find("current"), "cvx") or ""),
            conflict_begin_interval=_duration(e, "conflictBeginInterval") or Duration(),
            min_conflict_end_interval=_duration(e, "minConflictEndInterval") or Duration(),
            conflict_end_interval=_duration(e, "conflictEndInterval") or Duration(),
        )
        for e in root.findall("liveVirusConflicts/liveVirusConflict")
    )
    group_antigens = {
        _text(e, "name") or "": tuple(a.text.strip() for a in e.findall("antigen") if a.text)
        for e in root.findall("vaccineGroupToAntigenMap/vaccineGroupMap")
    }
    groups = {
        name: VaccineGroup(
            name=name,
            antigens=group_antigens.get(name, ()),
            administer_full_vaccine_group=_yes(e, "administerFullVaccineGroup"),
        )
        for e in root.findall("vaccineGroups/vaccineGroup")
        if (name := _text(e, "name"))
    }
    vaccines: dict[str, Vaccine] = {}
    for e in root.findall("cvxToAntigenMap/cvxMap"):
        cvx = normalize_cvx(_text(e, "cvx") or "")
        vaccines[cvx] = Vaccine(
            cvx=cvx,
            short_description=_text(e, "shortDescription") or "",
            associations=tuple(
                AntigenAssociation(
                    antigen=_text(a, "antigen") or "",
                    begin_age=_duration(a, "associationBeginAge"),
                    end_age=_duration(a, "associationEndAge"),
                )
                for a in e.findall("association")
            ),
        )
    observations = {
        code: Observation(
            code=code,
            title=_text(e, "observationTitle") or "",
            group=_text(e, "group"),
            indication_text=_text(e, "indicationText"),
            contraindication_text=_text(e, "contraindicationText"),
            clarifying_text=_text(e, "clarifyingText"),
            coded_values=tuple(
                (_text(v, "codeSystem") or "", _text(v, "code") or "", _text(v, "text") or "")
                for v in e.findall("codedValues/codedValue")
            ),
        )
        for e in root.findall("observations/observation")
        if (code := _text(e, "observationCode"))
    }
    antigens = {antigen.name: antigen for antigen in map(parse_antigen, antigen_data)}
    return Schedule(
        id=schedule_id,
        title=title,
        version=version,
        antigens=antigens,
        vaccine_groups=groups,
        vaccines=vaccines,
        live_virus_conflicts=conflicts,
        observations=observations,
        sources=("CDC CDSi supporting data" + (f" {version}" if version else ""),),
    )


def load_cdc_directory(folder: Path | str, *, version: str = "") -> Schedule:
    """Every supporting-data XML file in a folder, as CDC publishes them."""
    path = Path(folder)
    schedule_file = path / "ScheduleSupportingData.xml"
    if not schedule_file.is_file():
        raise SupportingDataError(f"{schedule_file} not found")
    antigen_files = sorted(path.glob("AntigenSupportingData*.xml"))
    return parse_schedule(
        schedule_file.read_bytes(), (f.read_bytes() for f in antigen_files), version=version
    )

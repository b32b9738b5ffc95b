"""The CDSi forecast engine: pure functions from a patient and their doses to a forecast."""

from immunis.forecast.engine import ForecastInputError, forecast
from immunis.forecast.records import (
    AdministeredDose,
    DoseCondition,
    Gender,
    Patient,
    PatientObservation,
)
from immunis.forecast.results import (
    DoseEvaluation,
    EvaluationStatus,
    Forecast,
    NextDose,
    SeriesStatus,
    VaccineGroupForecast,
)

__all__ = [
    "AdministeredDose",
    "DoseCondition",
    "DoseEvaluation",
    "EvaluationStatus",
    "Forecast",
    "ForecastInputError",
    "Gender",
    "NextDose",
    "Patient",
    "PatientObservation",
    "SeriesStatus",
    "VaccineGroupForecast",
    "forecast",
]

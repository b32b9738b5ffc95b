"""The URIs the FHIR face speaks: standard code systems, and immunis's own identifier systems,
extensions and code systems (all under http://immunis.org/fhir/)."""

from __future__ import annotations

# Standard systems.
CVX = "http://hl7.org/fhir/sid/cvx"
MVX = "http://hl7.org/fhir/sid/mvx"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
RECOMMENDATION_STATUS = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"
DOSE_STATUS = "http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status"
IMMDS_FORECAST_STATUS = "http://hl7.org/fhir/us/immds/CodeSystem/ForecastStatus"
IMMDS_FORECAST_OPERATION = "http://hl7.org/fhir/us/immds/OperationDefinition/ImmDSForecastOperation"

# immunis's own.
BASE = "http://immunis.org/fhir"
NATIONAL_ID = f"{BASE}/sid/vn-cccd"
SITE_CODE = f"{BASE}/sid/site-code"
ORGANIZATION_CODE = f"{BASE}/sid/organization-code"
PROVINCE_CODE = f"{BASE}/StructureDefinition/vn-province-code"
DISTRICT_CODE = f"{BASE}/StructureDefinition/vn-district-code"
COMMUNE_CODE = f"{BASE}/StructureDefinition/vn-commune-code"
MANAGING_SITE = f"{BASE}/StructureDefinition/managing-site"
GUARDIAN = f"{BASE}/StructureDefinition/guardian"
SITE_KIND = f"{BASE}/CodeSystem/site-kind"
ORGANIZATION_KIND = f"{BASE}/CodeSystem/organization-kind"
CDSI_VACCINE_GROUP = f"{BASE}/CodeSystem/cdsi-vaccine-group"
CDSI_ANTIGEN = f"{BASE}/CodeSystem/cdsi-antigen"
CDSI_SERIES_STATUS = f"{BASE}/CodeSystem/cdsi-series-status"
CDSI_EVALUATION_STATUS = f"{BASE}/CodeSystem/cdsi-evaluation-status"
SCHEDULE = f"{BASE}/CodeSystem/schedule"
PLACES_LEFT = f"{BASE}/StructureDefinition/slot-places-left"
RESCHEDULED_FROM = f"{BASE}/StructureDefinition/rescheduled-from"

# LOINC codes of ImmunizationRecommendation.recommendation.dateCriterion.
EARLIEST_DATE = ("30981-5", "Earliest date to give")
DUE_DATE = ("30980-7", "Date vaccine due")
LATEST_DATE = ("59777-3", "Latest date to give immunization")
OVERDUE_DATE = ("59778-1", "Date when overdue for immunization")

# Required code lists (R4) that the models do not check themselves.
ADMINISTRATIVE_GENDERS = ("male", "female", "other", "unknown")
IMMUNIZATION_STATUSES = ("completed", "entered-in-error", "not-done")
APPOINTMENT_STATUSES = (
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
)

# Guardian relationships: immunis's words and the v3 RoleCode codes for them.
GUARDIAN_ROLES = {"mother": "MTH", "father": "FTH", "parent": "PRN", "guardian": "GUARD"}

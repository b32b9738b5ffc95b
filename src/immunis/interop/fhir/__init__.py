"""The FHIR R4 face under ``/fhir``: Patient, Immunization, Location, Organization, forecasts as
ImmunizationRecommendation and ImmunizationEvaluation, and the ImmDS ``$immds-forecast`` operation.

Resources are mapped to and from the registry's schemas; every use case runs through the
registry's services, which check access and write the audit log.
"""

"""The faces other systems talk to: FHIR R4 (`fhir/`) and HL7 v2 (`hl7v2/`)."""

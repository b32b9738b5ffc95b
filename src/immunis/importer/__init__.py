"""Bulk imports: FHIR NDJSON and HL7 v2 batch files into the registry, resumable and idempotent."""

"""FHIR R4 mapping and API (capability 12; not built yet — see the issues)."""

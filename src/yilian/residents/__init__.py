"""Residents: master patient index, enrolment, key populations, consent, care relationships."""

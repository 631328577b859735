"""Central ORM models, one module per aggregate.  Importing this package registers all tables."""

from yilian.db.models.audit import AuditLog
from yilian.db.models.care import Encounter, Settlement, SimulationRun
from yilian.db.models.identity import LoginAttempt, RoleGrant, User
from yilian.db.models.registry import (
    Agreement,
    Consortium,
    ConsortiumAffiliation,
    ConsortiumMembership,
    Department,
    Division,
    Grid,
    GridDivision,
    Institution,
    PracticeSite,
    Practitioner,
)
from yilian.db.models.residents import (
    CareRelationship,
    DuplicateReview,
    InsuranceEnrolment,
    KeyPopulation,
    Resident,
)

__all__ = [
    "Agreement",
    "AuditLog",
    "CareRelationship",
    "Consortium",
    "ConsortiumAffiliation",
    "ConsortiumMembership",
    "Department",
    "Division",
    "DuplicateReview",
    "Encounter",
    "Grid",
    "GridDivision",
    "Institution",
    "InsuranceEnrolment",
    "KeyPopulation",
    "LoginAttempt",
    "PracticeSite",
    "Practitioner",
    "Resident",
    "Settlement",
    "SimulationRun",
    "RoleGrant",
    "User",
]

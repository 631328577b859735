"""CSV import: bad rows refused with reasons, good rows imported, re-import changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.errors import ValidationFailed
from yilian.db.models import AuditLog, Institution, Practitioner
from yilian.registry import importer

DIVISIONS = "code,name,level,parent_code\n320000,江苏省,province,\n320681,启东市,county,320000\n"
INSTITUTIONS = (
    "code,name,category,level,grade,ownership,beds,division_code,parent_code,in_county\n"
    "C-1,北新村卫生室,D600,unrated,,public,0,320681,T-1,true\n"   # parent listed later in the file
    "T-1,北新镇卫生院,C220,unrated,,public,40,320681,,true\n"
    "H-1,某市人民医院,A100,3,A,public,1200,320681,,true\n"
    "BAD-1,坏类别,Z999,2,,public,10,320681,,true\n"
    "BAD-2,坏床位,A100,2,,public,-5,320681,,true\n"
    "BAD-3,无区划,A100,2,,public,10,999999,,true\n"
)
PRACTITIONERS = (
    "code,name,category,title_level,specialty,institution_code,department_code\n"
    "P-1,王医生,physician,senior,心内科,H-1,\n"
    "P-2,李医生,physician,professor,,H-1,\n"
    "P-3,张医生,physician,junior,,NOPE,\n"
)


def n(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_import_reports_rejects_and_is_idempotent(session: Session) -> None:
    actor = b.admin()
    r = importer.import_csv(session, actor, DIVISIONS)
    assert (r.kind, r.created, r.rejected) == ("divisions", 2, [])
    r = importer.import_csv(session, actor, INSTITUTIONS)
    assert r.kind == "institutions" and r.created == 3
    reasons = {x["code"]: x["error_code"] for x in r.rejected}
    assert reasons == {"BAD-1": "registry_unknown_category", "BAD-2": "import_row_invalid",
                       "BAD-3": "division_not_found"}
    assert all(isinstance(x["line"], int) and x["reason"] for x in r.rejected)
    r = importer.import_csv(session, actor, PRACTITIONERS)
    assert r.created == 1 and {x["code"] for x in r.rejected} == {"P-2", "P-3"}

    counts = (n(session, Institution), n(session, Practitioner), n(session, AuditLog))
    for text in (DIVISIONS, INSTITUTIONS, PRACTITIONERS):
        again = importer.import_csv(session, actor, text)
        assert again.created == 0 and again.updated == 0
    assert (n(session, Institution), n(session, Practitioner), n(session, AuditLog)) == counts


def test_import_updates_changed_rows(session: Session) -> None:
    actor = b.admin()
    importer.import_csv(session, actor, DIVISIONS)
    importer.import_csv(session, actor, INSTITUTIONS)
    r = importer.import_csv(session, actor, INSTITUTIONS.replace("北新镇卫生院,C220,unrated,,public,40",
                                                                 "北新镇卫生院,C220,unrated,,public,45"))
    assert r.updated == 1
    inst = session.scalar(select(Institution).where(Institution.code == "T-1"))
    assert inst is not None and inst.beds == 45


def test_unknown_header_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        importer.import_csv(session, b.admin(), "foo,bar\n1,2\n")
    assert info.value.code == "import_header_unknown"

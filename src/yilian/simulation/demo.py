"""A small built-in network for `make demo` (the synthetic county of a later issue replaces it).

Qidong (启东市, Jiangsu) is one of the seeds' cases (002); names here are illustrative.
Everything is written through the features' services, so the demo obeys the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from yilian.identity import service as identity
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.registry import consortia, repository, service
from yilian.registry.schemas import (
    AffiliationIn,
    ConsortiumIn,
    DivisionIn,
    GridIn,
    InstitutionIn,
    MemberIn,
    PractitionerIn,
)

DEMO_PASSWORD = "yilian-demo-2026"
START = date(2024, 1, 1)

DIVISIONS = [
    ("320000", "江苏省", "province", None),
    ("320600", "南通市", "city", "320000"),
    ("320602", "崇川区", "county", "320600"),
    ("320681", "启东市", "county", "320600"),
    ("320681100", "汇龙镇", "township", "320681"),
    ("320681101", "南阳镇", "township", "320681"),
    ("320681102", "北新镇", "township", "320681"),
    ("320681103", "王鲍镇", "township", "320681"),
]

# code, name, category, level, grade, beds, division, parent, in_county
INSTITUTIONS = [
    ("QD-RMYY", "启东市人民医院", "A100", "3", "B", 1200, "320681", None, True),
    ("QD-ZYY", "启东市中医院", "A210", "2", "A", 600, "320681", None, True),
    ("QD-FYBJY", "启东市妇幼保健院", "G100", "2", "A", 200, "320681", None, True),
    ("QD-HL-WSY", "汇龙镇中心卫生院", "C210", "unrated", None, 120, "320681100", None, True),
    ("QD-NY-WSY", "南阳镇卫生院", "C220", "unrated", None, 60, "320681101", None, True),
    ("QD-BX-WSY", "北新镇卫生院", "C220", "unrated", None, 50, "320681102", None, True),
    ("QD-WB-WSY", "王鲍镇卫生院", "C220", "unrated", None, 40, "320681103", None, True),
    ("QD-HL-C01", "汇龙镇城东村卫生室", "D600", "unrated", None, 0, "320681100", "QD-HL-WSY", True),
    ("QD-NY-C01", "南阳镇东兴村卫生室", "D600", "unrated", None, 0, "320681101", "QD-NY-WSY", True),
    ("QD-BX-C01", "北新镇北新村卫生室", "D600", "unrated", None, 0, "320681102", "QD-BX-WSY", True),
    ("NT-FY", "南通大学附属医院", "A100", "3", "A", 3000, "320602", None, False),
    ("NT-ZXYY", "南通市中医院", "A210", "3", "A", 1000, "320602", None, False),
]

COMMUNITIES = [
    ("QD-GJ-GT", "启东市人民医院医共体", "general", "QD-RMYY", ["QD-HL-WSY", "QD-NY-WSY", "QD-HL-C01", "QD-NY-C01"]),
    ("QD-ZY-GT", "启东市中医院医共体", "tcm", "QD-ZYY", ["QD-BX-WSY", "QD-BX-C01"]),
    ("QD-FY-GT", "启东市妇幼保健院医共体", "mch", "QD-FYBJY", ["QD-WB-WSY"]),
]

# username, display name, role, scope kind, scope code
USERS = [
    ("admin", "系统管理员", Role.SYSTEM_ADMIN, None, None),
    ("wjw", "卫健委 李科长", Role.COMMISSION_OFFICER, "division", "320681"),
    ("ybj", "医保局 王科长", Role.INSURANCE_OFFICER, "division", "320681"),
    ("gtadmin", "医共体管理中心 陈主任", Role.CONSORTIUM_MANAGER, "consortium", "QD-GJ-GT"),
    ("zzb", "转诊办 周老师", Role.REFERRAL_OFFICER, "consortium", "QD-GJ-GT"),
    ("cunyi", "村医 赵医生", Role.CLINICIAN, "institution", "QD-HL-C01"),
    ("gp", "全科 孙医生", Role.CLINICIAN, "institution", "QD-HL-WSY"),
    ("zhuanke", "心内科 吴主任", Role.CLINICIAN, "institution", "QD-RMYY"),
    ("yaoshi", "药师 郑药师", Role.PHARMACIST, "institution", "QD-RMYY"),
]

PRACTITIONERS = [
    ("P-0001", "吴建国", "physician", "senior", "心血管内科", "QD-RMYY"),
    ("P-0002", "钱丽华", "physician", "associate_senior", "内分泌科", "QD-RMYY"),
    ("P-0003", "孙志强", "physician", "intermediate", "全科医学", "QD-HL-WSY"),
    ("P-0004", "赵春梅", "physician", "junior", "乡村全科", "QD-HL-C01"),
    ("P-0005", "刘芳", "nurse", "intermediate", None, "QD-HL-WSY"),
    ("P-0006", "郑伟", "pharmacist", "intermediate", None, "QD-RMYY"),
    ("P-0007", "冯雪", "physician", "associate_senior", "针灸推拿", "QD-ZYY"),
]


@dataclass(frozen=True)
class DemoSummary:
    institutions: int
    consortia: int
    users: list[tuple[str, str, str]]


def load(session: Session, actor: Principal) -> DemoSummary:
    """Idempotent: a second run finds everything in place and changes nothing."""
    for code, name, level, parent in DIVISIONS:
        service.do_upsert_division(session, actor, DivisionIn(code=code, name=name, level=level, parent_code=parent))
    for code, name, cat, level, grade, beds, div, parent, in_county in INSTITUTIONS:
        if repository.institution_by_code(session, code) is None:
            service.do_create_institution(
                session,
                actor,
                InstitutionIn(
                    code=code,
                    name=name,
                    category=cat,
                    level=level,
                    grade=grade,
                    beds=beds,
                    division_code=div,
                    parent_code=parent,
                    in_county=in_county,
                ),
            )
    for code, name, ctype, lead, members in COMMUNITIES:
        if repository.consortium_by_code(session, code) is None:
            consortia.do_create_consortium(
                session,
                actor,
                ConsortiumIn(
                    code=code,
                    name=name,
                    mode="county_community",
                    integration="tight",
                    level="county",
                    type=ctype,
                    division_code="320681",
                    lead_code=lead,
                    established_on=START,
                ),
            )
            for m in members:
                consortia.do_add_member(session, actor, code, MemberIn(institution_code=m, joined_on=START))
    if repository.consortium_by_code(session, "NT-FY-JT") is None:
        consortia.do_create_consortium(
            session,
            actor,
            ConsortiumIn(
                code="NT-FY-JT",
                name="南通大学附属医院紧密型城市医疗集团",
                mode="city_group",
                integration="tight",
                level="city",
                division_code="320600",
                lead_code="NT-FY",
                established_on=START,
            ),
        )
        consortia.do_create_grid(
            session,
            actor,
            GridIn(
                code="NT-GRID-1",
                name="南通东部网格",
                city_code="320600",
                group_code="NT-FY-JT",
                division_codes=["320602", "320681"],
            ),
        )
        consortia.do_join_group(session, actor, "QD-GJ-GT", AffiliationIn(group_code="NT-FY-JT", joined_on=START))
    if repository.consortium_by_code(session, "NT-XXG-LM") is None:
        consortia.do_create_consortium(
            session,
            actor,
            ConsortiumIn(
                code="NT-XXG-LM",
                name="南通心血管专科联盟",
                mode="specialty_alliance",
                integration="loose",
                level="city",
                type="specialty",
                division_code="320600",
                lead_code="NT-FY",
                established_on=START,
            ),
        )
        consortia.do_add_member(session, actor, "NT-XXG-LM", MemberIn(institution_code="QD-RMYY", joined_on=START))
    for code, name, cat, title, specialty, inst in PRACTITIONERS:
        if repository.practitioner_by_code(session, code) is None:
            service.do_create_practitioner(
                session,
                actor,
                PractitionerIn(
                    code=code, name=name, category=cat, title_level=title, specialty=specialty, institution_code=inst
                ),
                registered_on=START,
            )
    users: list[tuple[str, str, str]] = []
    from yilian.identity import repository as users_repo


    def ensure_user(username: str, display: str, role: Role, **scope: Any) -> None:
        """Create the login once (the demo can be loaded again); list it either way."""
        if users_repo.user_by_username(session, username) is None:
            identity.do_create_user(session, actor, username=username, password=DEMO_PASSWORD, role=role,
                                    display_name=display, **scope)
        users.append((username, display, role.value))

    for username, display, role, kind, scope in USERS:
        ensure_user(
            username, display, role,
            institution_id=service.institution_id_by_code(session, scope) if scope and kind == "institution" else None,
            consortium_id=service.consortium_id_by_code(session, scope) if scope and kind == "consortium" else None,
            division_code=scope if kind == "division" else None,
        )
    for county in repository.counties_with_institutions(session):
        # A simulated county (``yilian simulate county``) gets its own commission and insurance logins.
        if county.code == "320681":
            continue
        for prefix, display, role in (
            ("wjw", "卫健委", Role.COMMISSION_OFFICER),
            ("ybj", "医保局", Role.INSURANCE_OFFICER),
        ):
            ensure_user(f"{prefix}-{county.code}", f"{county.name}{display}", role, division_code=county.code)
    from yilian.referrals import demo as referral_demo

    referral_demo.seed(session, actor)
    c = repository.counts(session, None)
    return DemoSummary(c["institutions"], c["consortia"], users)

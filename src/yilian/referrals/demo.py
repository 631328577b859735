"""Demo data for the referral loop, for ``yilian demo load`` to call (``seed(session, actor)``).

On top of the demo network (``simulation.demo``): a small catalogue for the Qidong county
community (QD-GJ-GT), a resident registered at the village clinic of the demo's village doctor,
and the people's hospital's reserved referral slots (转诊预留号源) for that community over the next
days.  Idempotent: a second run finds the catalogue, the resident and the existing slots, and only
adds slots for days not yet covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.core.clock import SHANGHAI, to_local, utcnow
from yilian.db.models import ReferralCatalogueEntry, Slot, SlotPool
from yilian.identity.principal import Principal
from yilian.referrals import policy, repository, slots
from yilian.residents import service as residents
from yilian.residents.idcard import make_id_number
from yilian.residents.schemas import ResidentIn

__all__ = ["DEMO_CATALOGUE", "DemoSeed", "seed"]

CONSORTIUM = "QD-GJ-GT"
HOSPITAL = "QD-RMYY"
VILLAGE_CLINIC = "QD-HL-C01"
POOL_NAME = "心内科转诊预留号源"

DEMO_CATALOGUE = """catalogue,icd10,name
up,I21,急性心肌梗死
up,I63,脑梗死
up,I20,心绞痛
up,C34,支气管和肺恶性肿瘤
down,I10,原发性高血压
down,E11,2型糖尿病
down,I25,慢性缺血性心脏病
down,J44,慢性阻塞性肺疾病
rehab,I69,脑血管病后遗症
rehab,S72,股骨骨折术后
must_treat_county,I21,急性心肌梗死
must_treat_county,I63,脑梗死
must_treat_township,J18,肺炎
must_treat_township,I10,原发性高血压
"""


@dataclass(frozen=True, slots=True)
class DemoSeed:
    resident_id: int
    slots_added: int
    catalogue_loaded: bool


def _starts(today: date, days: int, now: datetime) -> list[datetime]:
    """Half-hour slots 08:00–11:30 (Beijing time) from today (those still ahead) over ``days`` days."""
    out = []
    for d in range(0, days + 1):
        day = today + timedelta(days=d)
        for i in range(8):
            local = datetime.combine(day, time(8, 0), tzinfo=SHANGHAI) + timedelta(minutes=30 * i)
            if local > now:
                out.append(local.astimezone(now.tzinfo))
    return out


def seed(session: Session, actor: Principal, *, days: int = 7, now: datetime | None = None) -> DemoSeed:
    """Add the referral demo data; needs the demo network (``simulation.demo.load``) first."""
    now = now or utcnow()
    today = to_local(now).date()
    cons = repository.consortium_by_code(session, CONSORTIUM)
    hosp = repository.institution_by_code(session, HOSPITAL)
    clinic = repository.institution_by_code(session, VILLAGE_CLINIC)
    if cons is None or hosp is None or clinic is None:
        raise LookupError("referral demo data needs the demo network: run `yilian demo load` first")
    loaded = session.scalar(select(ReferralCatalogueEntry.id).where(
        ReferralCatalogueEntry.consortium_id == cons.id).limit(1)) is not None
    if not loaded:
        policy.do_import_catalogue(session, actor, cons.id, DEMO_CATALOGUE, now=now)
    number = make_id_number("320681", date(1956, 4, 12), 218, 1)
    resident, _ = residents.do_register_resident(session, actor, ResidentIn(
        id_number=SecretStr(number), name="王建国", address_division_code="320681100"), institution_id=clinic.id)
    pool_ids = list(session.scalars(select(SlotPool.id).where(
        SlotPool.institution_id == hosp.id, SlotPool.kind == "referral", SlotPool.consortium_id == cons.id,
        SlotPool.name == POOL_NAME)))
    existing = set(session.scalars(select(Slot.start_at).where(Slot.pool_id.in_(pool_ids)))) if pool_ids else set()
    wanted = [s for s in _starts(today, days, now) if s not in existing]
    added = slots.open_referral_slots(session, hosp.id, cons.id, wanted, name=POOL_NAME) if wanted else []
    return DemoSeed(resident.id, len(added), not loaded)

"""From rows to the pure layer's ``ReferralSnapshot``, with the registry and residents facts it reads."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from yilian.contracts import service as contracts
from yilian.contracts.config import PriorityBenefit
from yilian.db.models import ReferralEpisode
from yilian.identity import repository as identity_repo
from yilian.referrals import repository
from yilian.referrals.config import DeadlineSet
from yilian.referrals.records import (
    Approval,
    CareSetting,
    ContractTeam,
    Direction,
    EndReason,
    EscalationKey,
    EscalationKind,
    Handover,
    ReferralFacts,
    ReferralSnapshot,
    SlotRef,
    SlotState,
    Status,
    Urgency,
)

__all__ = ["county_of", "diagnoses_of", "facts_for", "snapshot_of"]


def diagnoses_of(text: str | None) -> tuple[str, ...]:
    return tuple(d for d in (text or "").split("|") if d)


def county_of(division_code: str | None) -> str | None:
    return division_code[:6] if division_code and len(division_code) >= 6 else None


def facts_for(
    session: Session, *, resident_id: int, sending_id: int, receiving_id: int, governing_id: int | None, on: date
) -> ReferralFacts:
    """What the guards read about the parties today: scope, tiers, counties, networks, the contract."""
    insts = repository.institutions(session, {sending_id, receiving_id})
    snd, rcv = insts.get(sending_id), insts.get(receiving_id)
    rights = contracts.priority_rights(session, resident_id, on)
    team = None
    if rights.team_id is not None and rights.institution_id is not None:
        team = ContractTeam(rights.team_id, rights.institution_id)
    network = (frozenset(identity_repo.consortium_institution_ids(session, governing_id, on))
               if governing_id is not None else frozenset())
    return ReferralFacts(
        resident_in_sender_scope=identity_repo.has_relationship(session, resident_id, {sending_id}, on),
        sender_tier=snd.tier if snd else None,
        receiver_tier=rcv.tier if rcv else None,
        sender_county=county_of(snd.division_code) if snd else None,
        receiver_county=county_of(rcv.division_code) if rcv else None,
        network=network,
        sender_consortia=repository.network_consortia_of(session, sending_id, on),
        contract_team=team,
        contract_consortia=rights.consortia,
    )


def _slot(session: Session, ep: ReferralEpisode) -> SlotRef | None:
    if ep.slot_id is None:
        return None
    found = repository.slot_with_pool(session, ep.slot_id)
    if found is None:
        return None
    slot = found[0]
    return SlotRef(slot.id, slot.institution_id, slot.start_at, SlotState(ep.slot_state or SlotState.HELD.value))


def _escalations(session: Session, referral_id: int) -> frozenset[EscalationKey]:
    out = set()
    for row in repository.escalation_rows(session, referral_id):
        kind = EscalationKind(row.kind)
        out.add(EscalationKey(kind, None if kind == EscalationKind.FOLLOWUP else row.entry_seq))
    return frozenset(out)


def snapshot_of(session: Session, ep: ReferralEpisode, facts: ReferralFacts | None = None) -> ReferralSnapshot:
    """The frozen view ``transition`` and ``due_actions`` read; ``facts`` default to empty (system events)."""
    handover = None
    if any((ep.summary, ep.care_plan, ep.medications, ep.followup_instructions)):
        handover = Handover(ep.summary or "", ep.care_plan or "", ep.medications or "", ep.followup_instructions or "")
    return ReferralSnapshot(
        referral_id=ep.id,
        resident_id=ep.resident_id,
        direction=Direction(ep.direction),
        sending_institution_id=ep.sending_institution_id,
        receiving_institution_id=ep.receiving_institution_id,
        sent_by=ep.sent_by,
        status=Status(ep.status),
        version=ep.version,
        urgency=Urgency(ep.urgency) if ep.urgency else None,
        governing_consortium_id=ep.governing_consortium_id,
        receiving_consortium_id=ep.receiving_consortium_id,
        diagnoses=diagnoses_of(ep.diagnoses),
        reason=ep.reason,
        handover=handover,
        slot=_slot(session, ep),
        status_entered_at=ep.status_entered_at or ep.created_at,
        status_entry_seq=ep.status_entry_seq,
        accepted_at=ep.accepted_at,
        approval=Approval(ep.approval) if ep.approval else None,
        deadlines=DeadlineSet.from_seconds(ep.deadlines) if ep.deadlines else None,
        care_setting=CareSetting(ep.care_setting) if ep.care_setting else None,
        benefits=frozenset(PriorityBenefit(b) for b in (ep.benefits or [])),
        escalations=_escalations(session, ep.id),
        end_reason=EndReason(ep.end_reason) if ep.end_reason else None,
        facts=facts or ReferralFacts(),
    )

"""payment runs: settlements, clearings and what-ifs with their statements, cases, weights, months, ledger

The payment feature's tables (``db/models/payment.py``): immutable runs with the parameters and rule
versions they used, per-institution statement lines, per-case results (written with COPY, no foreign
keys), the weights a run used, the monthly provisional settlement and the global budget ledger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:20:29.367182
"""


from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.db.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('division_code', sa.String(length=12), nullable=True),
    sa.Column('consortium_id', sa.Integer(), nullable=True),
    sa.Column('base_run_id', sa.Integer(), nullable=True),
    sa.Column('overrides', sa.JSON(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('rules_name', sa.String(length=80), nullable=True),
    sa.Column('rules_version', sa.String(length=40), nullable=True),
    sa.Column('weights_source', sa.String(length=12), nullable=True),
    sa.Column('weights_name', sa.String(length=120), nullable=True),
    sa.Column('weights_version', sa.String(length=80), nullable=True),
    sa.Column('budget', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('point_value', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('point_value_source', sa.String(length=12), nullable=True),
    sa.Column('total_points', sa.Numeric(precision=24, scale=6), nullable=True),
    sa.Column('total_payment', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.Column('institutions', sa.Integer(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('inputs_digest', sa.String(length=64), nullable=False),
    sa.Column('result_digest', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', yilian.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.CheckConstraint("kind in ('drg','dip','budget','capitation','grouping')", name=op.f('ck_payment_run_kind_valid')),
    sa.ForeignKeyConstraint(['base_run_id'], ['payment_run.id'], name=op.f('fk_payment_run_base_run_id_payment_run')),
    sa.ForeignKeyConstraint(['consortium_id'], ['consortium.id'], name=op.f('fk_payment_run_consortium_id_consortium')),
    sa.ForeignKeyConstraint(['division_code'], ['division.code'], name=op.f('fk_payment_run_division_code_division')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_run'))
    )
    with op.batch_alter_table('payment_run', schema=None) as batch_op:
        batch_op.create_index('ix_payment_run_base', ['base_run_id'], unique=False)
        batch_op.create_index('ix_payment_run_year_kind', ['year', 'kind'], unique=False)
    op.create_table('payment_run_institution',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('coefficient', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.Column('high', sa.Integer(), nullable=False),
    sa.Column('low', sa.Integer(), nullable=False),
    sa.Column('total_cost', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('fund_paid', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('points', sa.Numeric(precision=24, scale=6), nullable=True),
    sa.Column('cmi', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('case_money', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('provisional', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('payment', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('balance', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('rounding', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_payment_run_institution_institution_id_institution')),
    sa.ForeignKeyConstraint(['run_id'], ['payment_run.id'], name=op.f('fk_payment_run_institution_run_id_payment_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'institution_id', name=op.f('pk_payment_run_institution'))
    )
    op.create_table('payment_run_case',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('encounter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('group_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('cost', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('points', sa.Numeric(precision=24, scale=6), nullable=True),
    sa.Column('money', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'institution_id', 'encounter_id', name=op.f('pk_payment_run_case'))
    )
    op.create_table('payment_run_weight',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('rw', sa.Numeric(precision=20, scale=10), nullable=False),
    sa.Column('avg_cost', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['payment_run.id'], name=op.f('fk_payment_run_weight_run_id_payment_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'code', name=op.f('pk_payment_run_weight'))
    )
    op.create_table('payment_run_month',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.SmallInteger(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('point_value', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('provisional', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_payment_run_month_institution_id_institution')),
    sa.ForeignKeyConstraint(['run_id'], ['payment_run.id'], name=op.f('fk_payment_run_month_run_id_payment_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'institution_id', 'month', name=op.f('pk_payment_run_month'))
    )
    op.create_table('payment_budget_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('consortium_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('month', sa.SmallInteger(), nullable=False),
    sa.Column('entry', sa.String(length=24), nullable=False),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('balance', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['consortium_id'], ['consortium.id'], name=op.f('fk_payment_budget_entry_consortium_id_consortium')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_payment_budget_entry_institution_id_institution')),
    sa.ForeignKeyConstraint(['run_id'], ['payment_run.id'], name=op.f('fk_payment_budget_entry_run_id_payment_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_budget_entry'))
    )
    with op.batch_alter_table('payment_budget_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_budget_entry_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_budget_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_budget_entry_run_id'))
    op.drop_table('payment_budget_entry')
    op.drop_table('payment_run_month')
    op.drop_table('payment_run_weight')
    op.drop_table('payment_run_case')
    op.drop_table('payment_run_institution')
    with op.batch_alter_table('payment_run', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_run_year_kind')
        batch_op.drop_index('ix_payment_run_base')
    op.drop_table('payment_run')

"""activity roll-ups: totals, days, periods and active marks

Revision ID: dd0a27c5d65a
Revises: 28ac59cd8ca5
Create Date: 2026-11-29 12:58:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dd0a27c5d65a'
down_revision = '28ac59cd8ca5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rollup_totals',
    sa.Column('unit', sa.String(length=24), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('rostered', sa.Integer(), nullable=False),
    sa.Column('activated', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit', 'role', name=op.f('pk_rollup_totals'))
    )
    op.create_table('rollup_days',
    sa.Column('unit', sa.String(length=24), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('new_activations', sa.Integer(), nullable=False),
    sa.Column('active', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit', 'role', 'day', name=op.f('pk_rollup_days'))
    )
    op.create_table('rollup_periods',
    sa.Column('unit', sa.String(length=24), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('period', sa.String(length=5), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('active', sa.Integer(), nullable=False),
    sa.CheckConstraint("period IN ('week', 'month')", name=op.f('ck_rollup_periods_period')),
    sa.PrimaryKeyConstraint('unit', 'role', 'period', 'start', name=op.f('pk_rollup_periods'))
    )
    op.create_table('active_marks',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=5), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.CheckConstraint("period IN ('day', 'week', 'month')", name=op.f('ck_active_marks_period')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_active_marks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'period', 'start', name=op.f('pk_active_marks'))
    )


def downgrade():
    op.drop_table('active_marks')
    op.drop_table('rollup_periods')
    op.drop_table('rollup_days')
    op.drop_table('rollup_totals')

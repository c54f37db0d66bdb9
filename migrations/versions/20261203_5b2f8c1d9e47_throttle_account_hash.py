"""throttle_events.account_hash: which account a failed sign-in was for, so an administrator can clear it

Revision ID: 5b2f8c1d9e47
Revises: 5c0d3b7e9a12
Create Date: 2026-12-03 16:30:00.000000

Rows of the old scheme (per account and per IP, no account_hash) are dropped: their keys mean
something else now, and they are at most a quarter of an hour of failed sign-ins.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b2f8c1d9e47'
down_revision = '5c0d3b7e9a12'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("DELETE FROM throttle_events"))
    with op.batch_alter_table('throttle_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_throttle_events_account_hash'), ['account_hash'], unique=False)


def downgrade():
    with op.batch_alter_table('throttle_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_events_account_hash'))
        batch_op.drop_column('account_hash')

"""privacy requests: personal data download and deletion

Revision ID: b5e1d2c3a4f7
Revises: 7c1e9a4d2f60
Create Date: 2026-12-03 16:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)

# revision identifiers, used by Alembic.
revision = 'b5e1d2c3a4f7'
down_revision = '7c1e9a4d2f60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('privacy_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('run_after_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_dt', learnspace.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('object_key', sa.String(length=200), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('expires_dt', learnspace.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.CheckConstraint("kind IN ('export', 'delete')", name=op.f('ck_privacy_requests_kind')),
    sa.CheckConstraint("via IN ('self', 'admin')", name=op.f('ck_privacy_requests_via')),
    sa.CheckConstraint("state IN ('pending', 'running', 'done', 'cancelled', 'failed', 'expired')",
                       name=op.f('ck_privacy_requests_state')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                            name=op.f('fk_privacy_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subject_id'], ['users.id'],
                            name=op.f('fk_privacy_requests_subject_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests'))
    )
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_requests_subject_id'), ['subject_id'], unique=False)


def downgrade():
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_requests_subject_id'))
    op.drop_table('privacy_requests')

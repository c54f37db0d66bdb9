"""background jobs and worker heartbeats

Revision ID: 7c1e9a4b2d63
Revises: a4be96cbe9be
Create Date: 2026-12-03 13:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)

# revision identifiers, used by Alembic.
revision = '7c1e9a4b2d63'
down_revision = 'a4be96cbe9be'
branch_labels = None
depends_on = None

LIVE = sa.text("state IN ('queued', 'running')")


def upgrade():
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('locked_by', sa.String(length=120), nullable=True),
    sa.Column('locked_until_dt', learnspace.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_dt', learnspace.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_dt', learnspace.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_due', ['state', 'run_after_dt'], unique=False)
        batch_op.create_index('ix_jobs_lease', ['state', 'locked_until_dt'], unique=False)
        batch_op.create_index('ix_jobs_dedupe_key', ['dedupe_key'], unique=False)
        batch_op.create_index('uq_jobs_live_dedupe_key', ['dedupe_key'], unique=True,
                              sqlite_where=LIVE, postgresql_where=LIVE)

    op.create_table('job_workers',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('started_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_workers'))
    )


def downgrade():
    op.drop_table('job_workers')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_live_dedupe_key')
        batch_op.drop_index('ix_jobs_dedupe_key')
        batch_op.drop_index('ix_jobs_lease')
        batch_op.drop_index('ix_jobs_due')

    op.drop_table('jobs')

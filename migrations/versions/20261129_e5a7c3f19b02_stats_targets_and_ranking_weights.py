"""stats: yearly targets and ranking weights

Revision ID: e5a7c3f19b02
Revises: dd0a27c5d65a
Create Date: 2026-11-29 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)


# revision identifiers, used by Alembic.
revision = 'e5a7c3f19b02'
down_revision = 'dd0a27c5d65a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('new_spaces', sa.Integer(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('new_spaces > 0', name=op.f('ck_stats_targets_new_spaces_positive')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_stats_targets_set_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_targets')),
    sa.UniqueConstraint('unit', 'year', name=op.f('uq_stats_targets_unit'))
    )
    op.create_table('stats_ranking_weights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activation_rate', sa.Float(), nullable=False),
    sa.Column('weekly_active_rate', sa.Float(), nullable=False),
    sa.Column('monthly_active_rate', sa.Float(), nullable=False),
    sa.Column('teacher_publish_share', sa.Float(), nullable=False),
    sa.Column('lessons_per_teacher', sa.Float(), nullable=False),
    sa.Column('min_rostered', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_stats_ranking_weights_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_ranking_weights'))
    )


def downgrade():
    op.drop_table('stats_ranking_weights')
    op.drop_table('stats_targets')

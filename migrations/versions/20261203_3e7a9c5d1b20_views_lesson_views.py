"""views: lesson_views, one row per viewer, lesson and China day, counted into lessons.view_count in batches

Revision ID: 3e7a9c5d1b20
Revises: 3d9f6a2b8c14
Create Date: 2026-12-03 19:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3e7a9c5d1b20'
down_revision = '3d9f6a2b8c14'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lesson_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('viewer', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('counted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lesson_views_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_views')),
    sa.UniqueConstraint('lesson_id', 'day', 'viewer', name='uq_lesson_views_lesson_day_viewer')
    )
    with op.batch_alter_table('lesson_views', schema=None) as batch_op:
        batch_op.create_index('ix_lesson_views_day', ['day'], unique=False)
        batch_op.create_index('ix_lesson_views_pending', ['id'], unique=False,
                              sqlite_where=sa.text('NOT counted'), postgresql_where=sa.text('NOT counted'))
        batch_op.create_index(batch_op.f('ix_lesson_views_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lesson_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_views_user_id'))
        batch_op.drop_index('ix_lesson_views_pending')
        batch_op.drop_index('ix_lesson_views_day')
    op.drop_table('lesson_views')

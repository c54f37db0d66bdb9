"""learning records (watch progress, watch days, favourites, notes) and guardian consent

Revision ID: 3b7d5e2a9c14
Revises: 9dee45262e78
Create Date: 2026-11-29 12:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)


# revision identifiers, used by Alembic.
revision = '3b7d5e2a9c14'
down_revision = '9dee45262e78'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('guardian_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('guardian_name', sa.String(length=64), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('notice_version', sa.String(length=32), nullable=False),
    sa.Column('given_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_dt', learnspace.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_guardian_consents_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_guardian_consents_student_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_guardian_consents_withdrawn_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian_consents'))
    )
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_consents_student_id'), ['student_id'], unique=False)

    op.create_table('watch_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('position_seconds', sa.Float(), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('is_finished', sa.Boolean(), nullable=False),
    sa.Column('started_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_watch_progress_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_watch_progress_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_progress')),
    sa.UniqueConstraint('user_id', 'lesson_id', name=op.f('uq_watch_progress_user_id'))
    )
    with op.batch_alter_table('watch_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_progress_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_progress_updated_dt'), ['updated_dt'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_progress_user_id'), ['user_id'], unique=False)

    op.create_table('watch_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_watch_days_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_watch_days_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_days')),
    sa.UniqueConstraint('user_id', 'lesson_id', 'day', name=op.f('uq_watch_days_user_id'))
    )
    with op.batch_alter_table('watch_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_days_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_days_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_days_user_id'), ['user_id'], unique=False)

    op.create_table('favourites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_favourites_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_favourites_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_favourites')),
    sa.UniqueConstraint('user_id', 'lesson_id', name=op.f('uq_favourites_user_id'))
    )
    with op.batch_alter_table('favourites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_favourites_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_favourites_user_id'), ['user_id'], unique=False)

    op.create_table('lesson_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('position_seconds', sa.Float(), nullable=True),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("visibility IN ('private', 'space')", name=op.f('ck_lesson_notes_visibility')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_notes_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lesson_notes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_notes'))
    )
    with op.batch_alter_table('lesson_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_notes_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_notes_user_id'), ['user_id'], unique=False)


def downgrade():
    for table, indexes in (
        ('lesson_notes', ('ix_lesson_notes_user_id', 'ix_lesson_notes_lesson_id')),
        ('favourites', ('ix_favourites_user_id', 'ix_favourites_lesson_id')),
        ('watch_days', ('ix_watch_days_user_id', 'ix_watch_days_lesson_id', 'ix_watch_days_day')),
        ('watch_progress', ('ix_watch_progress_user_id', 'ix_watch_progress_updated_dt',
                            'ix_watch_progress_lesson_id')),
        ('guardian_consents', ('ix_guardian_consents_student_id',)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)

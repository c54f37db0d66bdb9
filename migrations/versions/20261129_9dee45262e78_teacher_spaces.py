"""teacher profiles, follows, announcements, space visits

Revision ID: 9dee45262e78
Revises: 638e464ff942
Create Date: 2026-11-29 12:18:53.490678

"""
from alembic import op
import sqlalchemy as sa

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)


# revision identifiers, used by Alembic.
revision = '9dee45262e78'
down_revision = '638e464ff942'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_announcements_author_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcements_created_dt'), ['created_dt'], unique=False)

    op.create_table('follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follower_id', sa.Integer(), nullable=False),
    sa.Column('followed_id', sa.Integer(), nullable=False),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('follower_id <> followed_id', name=op.f('ck_follows_not_self')),
    sa.ForeignKeyConstraint(['followed_id'], ['users.id'], name=op.f('fk_follows_followed_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['follower_id'], ['users.id'], name=op.f('fk_follows_follower_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
    sa.UniqueConstraint('follower_id', 'followed_id', name='uq_follows_follower_followed')
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follows_followed_id'), ['followed_id'], unique=False)

    op.create_table('teacher_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('subjects', sa.String(length=200), nullable=False),
    sa.Column('grades', sa.String(length=200), nullable=False),
    sa.Column('introduction', sa.Text(), nullable=False),
    sa.Column('photo_key', sa.String(length=200), nullable=True),
    sa.Column('photo_content_type', sa.String(length=20), nullable=True),
    sa.Column('default_visibility', sa.String(length=10), server_default='school', nullable=False),
    sa.Column('updated_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("default_visibility IN ('private', 'school', 'region', 'public')", name=op.f('ck_teacher_profiles_default_visibility')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_teacher_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teacher_profiles')),
    sa.UniqueConstraint('user_id', name=op.f('uq_teacher_profiles_user_id'))
    )
    op.create_table('space_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('visitor_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('first_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], name=op.f('fk_space_visits_space_id_spaces'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visitor_id'], ['users.id'], name=op.f('fk_space_visits_visitor_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_space_visits')),
    sa.UniqueConstraint('space_id', 'visitor_id', 'day', name='uq_space_visits_space_visitor_day')
    )
    with op.batch_alter_table('space_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_space_visits_visitor_id'), ['visitor_id'], unique=False)



def downgrade():
    with op.batch_alter_table('space_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_space_visits_visitor_id'))

    op.drop_table('space_visits')
    op.drop_table('teacher_profiles')
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follows_followed_id'))

    op.drop_table('follows')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcements_created_dt'))
        batch_op.drop_index(batch_op.f('ix_announcements_author_id'))

    op.drop_table('announcements')

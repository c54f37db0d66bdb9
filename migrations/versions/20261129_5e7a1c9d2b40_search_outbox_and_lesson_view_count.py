"""search outbox, lesson view count

Revision ID: 5e7a1c9d2b40
Revises: fcfbba62bc4d
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)


# revision identifiers, used by Alembic.
revision = '5e7a1c9d2b40'
down_revision = 'fcfbba62bc4d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doc_type', sa.String(length=20), nullable=False),
    sa.Column('doc_id', sa.Integer(), nullable=False),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox'))
    )
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_search_outbox_doc', ['doc_type', 'doc_id'], unique=False)

    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('view_count', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.drop_column('view_count')

    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_search_outbox_doc')

    op.drop_table('search_outbox')

"""search_nodes: a cursor per app node into the shared search outbox; outbox rows carry their transaction id

Revision ID: 3d9f6a2b8c14
Revises: 5b2f8c1d9e47
Create Date: 2026-12-03 19:15:00.000000

Several app nodes each keep their own search replica and read the outbox from their own
cursor, so rows are no longer deleted when one node applies them (learnspace/search/nodes.py).
On PostgreSQL a row's position is the id of the transaction that wrote it (``txid``, filled by
the server), because sequence ids become visible out of order; on SQLite, where writers run one
at a time, it is the id, made AUTOINCREMENT so an id is never handed out twice after pruning.
"""
import sqlalchemy as sa
from alembic import op

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)

# revision identifiers, used by Alembic.
revision = '3d9f6a2b8c14'
down_revision = '5b2f8c1d9e47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_nodes',
    sa.Column('node_id', sa.String(length=120), nullable=False),
    sa.Column('cursor', sa.BigInteger(), nullable=True),
    sa.Column('applied_ids', sa.Text(), nullable=False, server_default=''),
    sa.Column('generation', sa.String(length=80), nullable=True),
    sa.Column('seen_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rebuilt_dt', learnspace.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_search_nodes'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('search_outbox', sa.Column(
            'txid', sa.BigInteger(), nullable=True, server_default=sa.text('(pg_current_xact_id()::text)::bigint')))
        op.create_index('ix_search_outbox_txid', 'search_outbox', ['txid'])
        # Rows waiting from before: new to every node (the column default only fills new rows).
        op.execute(sa.text("UPDATE search_outbox SET txid = (pg_current_xact_id()::text)::bigint"))
    else:
        with op.batch_alter_table('search_outbox', recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}) as batch_op:
            batch_op.add_column(sa.Column('txid', sa.BigInteger(), nullable=True))
            batch_op.create_index('ix_search_outbox_txid', ['txid'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_search_outbox_txid', table_name='search_outbox')
        op.drop_column('search_outbox', 'txid')
    else:
        with op.batch_alter_table('search_outbox', recreate='always') as batch_op:
            batch_op.drop_index('ix_search_outbox_txid')
            batch_op.drop_column('txid')
    op.drop_table('search_nodes')

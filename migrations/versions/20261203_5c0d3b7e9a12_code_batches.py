"""code batches: activation and reset codes generated as one batch, printable and exportable from it

Revision ID: 5c0d3b7e9a12
Revises: b5e1d2c3a4f7
Create Date: 2026-12-03 16:30:00.000000

Codes made before batches existed keep working (batch_id NULL, kind activation)
but cannot be reprinted: their plaintext was never stored.
"""
import sqlalchemy as sa
from alembic import op

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)

# revision identifiers, used by Alembic.
revision = '5c0d3b7e9a12'
down_revision = 'b5e1d2c3a4f7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('code_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('class_name', sa.String(length=32), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reprint_until_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('activation', 'reset')", name=op.f('ck_code_batches_kind')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_code_batches_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_code_batches_school_id_schools')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_code_batches_user_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_batches'))
    )
    with op.batch_alter_table('code_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_code_batches_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_code_batches_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), server_default='activation', nullable=False))
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('code_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f('ix_activation_codes_batch_id'), ['batch_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_activation_codes_batch_id_code_batches'), 'code_batches',
                                    ['batch_id'], ['id'], ondelete='CASCADE')


def downgrade():
    # Reset codes mean nothing to the old schema: drop them rather than let them pass as activation codes.
    op.execute(sa.text("DELETE FROM activation_codes WHERE kind = 'reset'"))
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_activation_codes_batch_id_code_batches'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_activation_codes_batch_id'))
        batch_op.drop_column('code_encrypted')
        batch_op.drop_column('batch_id')
        batch_op.drop_column('kind')
    with op.batch_alter_table('code_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_code_batches_user_id'))
        batch_op.drop_index(batch_op.f('ix_code_batches_school_id'))
    op.drop_table('code_batches')

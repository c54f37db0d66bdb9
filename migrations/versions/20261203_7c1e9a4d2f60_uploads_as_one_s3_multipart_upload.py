"""uploads: one S3 multipart upload per file (upload_id, part_size), status "processing", no chunk rows

Revision ID: 7c1e9a4d2f60
Revises: 7c1e9a4b2d63
Create Date: 2026-12-03 14:00:00.000000

Uploads in flight under the old chunk protocol cannot be finished by the new
one: they are marked failed with a message telling the teacher to upload the
file again (their chunk objects under uploads/ are orphans for `learnspace reconcile`).
"""
import sqlalchemy as sa
from alembic import op

import learnspace.db  # noqa: F401  (custom column types such as UTCDateTime)

# revision identifiers, used by Alembic.
revision = '7c1e9a4d2f60'
down_revision = '7c1e9a4b2d63'
branch_labels = None
depends_on = None

OLD_PROTOCOL = "系统升级后，未完成的上传需要重新开始：请重新选择文件上传。"


def upgrade():
    files = sa.table('lesson_files', sa.column('status', sa.String), sa.column('failure_reason', sa.String))
    op.execute(files.update().where(files.c.status.in_(('uploading', 'verifying')))
               .values(status='failed', failure_reason=OLD_PROTOCOL))
    with op.batch_alter_table('upload_chunks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_chunks_file_id'))
    op.drop_table('upload_chunks')
    with op.batch_alter_table('lesson_files', schema=None) as batch_op:
        batch_op.alter_column('chunk_size', new_column_name='part_size', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('upload_id', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_lesson_files_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_lesson_files_status'),
            "status IN ('uploading', 'verifying', 'processing', 'ready', 'failed')")


def downgrade():
    files = sa.table('lesson_files', sa.column('status', sa.String), sa.column('failure_reason', sa.String))
    op.execute(files.update().where(files.c.status.in_(('uploading', 'verifying', 'processing')))
               .values(status='failed', failure_reason=OLD_PROTOCOL))
    with op.batch_alter_table('lesson_files', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_lesson_files_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_lesson_files_status'), "status IN ('uploading', 'verifying', 'ready', 'failed')")
        batch_op.drop_column('upload_id')
        batch_op.alter_column('part_size', new_column_name='chunk_size', existing_type=sa.Integer(),
                              existing_nullable=False)
    op.create_table('upload_chunks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_dt', learnspace.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['lesson_files.id'], name=op.f('fk_upload_chunks_file_id_lesson_files'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_chunks')),
    sa.UniqueConstraint('file_id', 'index', name='uq_upload_chunks_file_index')
    )
    with op.batch_alter_table('upload_chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_chunks_file_id'), ['file_id'], unique=False)

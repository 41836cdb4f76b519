"""sync tables

Who wrote each synced record last (`sync_origin`, so a device is not sent back its own write) on every
versioned table, and the sync feature's own tables: meta (epoch, purge horizon, SQLite transaction
counter), idempotency results, the conflicts log, tombstones and per-device scope state.

Revision ID: 0002_sync
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_sync'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None

VERSIONED_TABLES = ("areas", "categories", "members", "patrol_schedules", "patrols", "incidents",
                    "incident_events", "sites", "site_inspections")


def upgrade() -> None:
    for table in VERSIONED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('sync_origin', sa.String(length=36), nullable=True))

    op.create_table('sync_meta',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sync_meta'))
    )
    op.create_table('sync_op_results',
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('op_id', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('device_id', 'op_id', name=op.f('pk_sync_op_results'))
    )
    op.create_index(op.f('ix_sync_op_results_created_at'), 'sync_op_results', ['created_at'], unique=False)
    op.create_table('sync_conflicts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('op_id', sa.String(length=64), nullable=False),
    sa.Column('collection', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('hlc', sa.String(length=80), nullable=False),
    sa.Column('pushed', sa.JSON(), nullable=False),
    sa.Column('winning', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflicts'))
    )
    op.create_index('ix_sync_conflicts_record', 'sync_conflicts', ['collection', 'record_id'], unique=False)
    op.create_table('sync_tombstones',
    sa.Column('collection', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('area_path', sa.String(length=500), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sync_origin', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('collection', 'record_id', name=op.f('pk_sync_tombstones'))
    )
    op.create_index(op.f('ix_sync_tombstones_version'), 'sync_tombstones', ['version'], unique=False)
    op.create_table('sync_device_states',
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('scope_hash', sa.String(length=16), nullable=False),
    sa.Column('scope_paths', sa.JSON(), nullable=False),
    sa.Column('previous_scope_hash', sa.String(length=16), nullable=True),
    sa.Column('previous_scope_paths', sa.JSON(), nullable=False),
    sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_sync_device_states'))
    )


def downgrade() -> None:
    op.drop_table('sync_device_states')
    op.drop_index(op.f('ix_sync_tombstones_version'), table_name='sync_tombstones')
    op.drop_table('sync_tombstones')
    op.drop_index('ix_sync_conflicts_record', table_name='sync_conflicts')
    op.drop_table('sync_conflicts')
    op.drop_index(op.f('ix_sync_op_results_created_at'), table_name='sync_op_results')
    op.drop_table('sync_op_results')
    op.drop_table('sync_meta')
    for table in VERSIONED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('sync_origin')

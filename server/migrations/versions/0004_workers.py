"""Workers: materialised patrol windows, overdue tracks, alert bookkeeping, periodic runs, weekly reports.

Revision ID: 0004_workers
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_workers"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite auto-increments INTEGER keys only
DUE = "state IN ('open', 'missed')"


def upgrade() -> None:
    op.create_table(
        "worker_patrol_windows",
        sa.Column("id", BIGKEY, autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("heightened", sa.String(length=100), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("next_check_at", TZ, nullable=True),
        sa.Column("patrol_id", sa.String(length=36), nullable=True),
        sa.Column("missed_at", TZ, nullable=True),
        sa.Column("acknowledged_at", TZ, nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("escalated_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_worker_patrol_windows_area_id_areas"),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["members.id"],
                                name="fk_worker_patrol_windows_acknowledged_by_id_members"),
        sa.PrimaryKeyConstraint("id", name="pk_worker_patrol_windows"),
        sa.UniqueConstraint("area_id", "starts_at", "site", name="uq_worker_patrol_windows_slot"),
    )
    op.create_index("ix_worker_patrol_windows_due", "worker_patrol_windows", ["state", "next_check_at"],
                    postgresql_where=sa.text(DUE), sqlite_where=sa.text(DUE))
    op.create_index("ix_worker_patrol_windows_local_date", "worker_patrol_windows", ["local_date"])

    op.create_table(
        "worker_overdue_tracks",
        sa.Column("id", BIGKEY, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("deadline", TZ, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("next_check_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_worker_overdue_tracks_incident_id_incidents"),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_worker_overdue_tracks_area_id_areas"),
        sa.PrimaryKeyConstraint("id", name="pk_worker_overdue_tracks"),
        sa.UniqueConstraint("incident_id", "deadline", name="uq_worker_overdue_tracks_incident_deadline"),
    )
    op.create_index("ix_worker_overdue_tracks_due", "worker_overdue_tracks", ["stage", "next_check_at"])

    op.create_table(
        "worker_alerts",
        sa.Column("id", BIGKEY, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("rule", sa.String(length=30), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hold_until", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("queued_at", TZ, nullable=True),
        sa.Column("acknowledged_at", TZ, nullable=True),
        sa.Column("outbox_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_worker_alerts_area_id_areas"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_worker_alerts_member_id_members"),
        sa.PrimaryKeyConstraint("id", name="pk_worker_alerts"),
        sa.UniqueConstraint("key", name="uq_worker_alerts_key"),
    )
    op.create_index("ix_worker_alerts_held", "worker_alerts", ["status", "hold_until"])
    op.create_index("ix_worker_alerts_member_created", "worker_alerts", ["member_id", "created_at"])
    op.create_index("ix_worker_alerts_subject", "worker_alerts", ["subject_type", "subject_id"])

    op.create_table(
        "worker_periodic_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("claimed_period", TZ, nullable=True),
        sa.Column("last_started_at", TZ, nullable=True),
        sa.Column("last_finished_at", TZ, nullable=True),
        sa.Column("last_now", TZ, nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_summary", sa.JSON(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_worker_periodic_runs"),
    )

    op.create_table(
        "worker_weekly_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("week_end", sa.Date(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_worker_weekly_reports_area_id_areas"),
        sa.PrimaryKeyConstraint("id", name="pk_worker_weekly_reports"),
        sa.UniqueConstraint("area_id", "week_start", name="uq_worker_weekly_reports_area_week"),
    )


def downgrade() -> None:
    op.drop_table("worker_weekly_reports")
    op.drop_table("worker_periodic_runs")
    op.drop_index("ix_worker_alerts_subject", table_name="worker_alerts")
    op.drop_index("ix_worker_alerts_member_created", table_name="worker_alerts")
    op.drop_index("ix_worker_alerts_held", table_name="worker_alerts")
    op.drop_table("worker_alerts")
    op.drop_index("ix_worker_overdue_tracks_due", table_name="worker_overdue_tracks")
    op.drop_table("worker_overdue_tracks")
    op.drop_index("ix_worker_patrol_windows_local_date", table_name="worker_patrol_windows")
    op.drop_index("ix_worker_patrol_windows_due", table_name="worker_patrol_windows")
    op.drop_table("worker_patrol_windows")

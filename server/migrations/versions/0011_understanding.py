"""Understanding residents' texts: office words, area aliases, per-incident understanding, recategorisations.

Revision ID: 0011_understanding
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_understanding"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "understanding_words",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], name="fk_understanding_words_category_id_categories"),
        sa.PrimaryKeyConstraint("id", name="pk_understanding_words"),
        sa.UniqueConstraint("category_id", "word", name="uq_understanding_words_category_word"),
    )
    op.create_table(
        "area_aliases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=60), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_area_aliases_area_id_areas"),
        sa.PrimaryKeyConstraint("id", name="pk_area_aliases"),
        sa.UniqueConstraint("area_id", "alias", name="uq_area_aliases_area_alias"),
    )
    op.create_index("ix_area_aliases_area_id", "area_aliases", ["area_id"])
    op.create_table(
        "incident_understandings",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("needs_triage", sa.Boolean(), nullable=False),
        sa.Column("cues", sa.JSON(), nullable=False),
        sa.Column("place", sa.JSON(), nullable=False),
        sa.Column("routed_by", sa.String(length=20), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("triaged_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_understandings_incident_id_incidents"),
        sa.PrimaryKeyConstraint("incident_id", name="pk_incident_understandings"),
    )
    op.create_index("ix_incident_understandings_triage", "incident_understandings", ["needs_triage"])
    op.create_table(
        "recategorisations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("from_category_id", sa.Integer(), nullable=False),
        sa.Column("to_category_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("actor_member_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_recategorisations_incident_id_incidents"),
        sa.ForeignKeyConstraint(["from_category_id"], ["categories.id"],
                                name="fk_recategorisations_from_category_id_categories"),
        sa.ForeignKeyConstraint(["to_category_id"], ["categories.id"],
                                name="fk_recategorisations_to_category_id_categories"),
        sa.ForeignKeyConstraint(["actor_member_id"], ["members.id"], name="fk_recategorisations_actor_member_id_members"),
        sa.PrimaryKeyConstraint("id", name="pk_recategorisations"),
    )
    op.create_index("ix_recategorisations_incident_id", "recategorisations", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_recategorisations_incident_id", table_name="recategorisations")
    op.drop_table("recategorisations")
    op.drop_index("ix_incident_understandings_triage", table_name="incident_understandings")
    op.drop_table("incident_understandings")
    op.drop_index("ix_area_aliases_area_id", table_name="area_aliases")
    op.drop_table("area_aliases")
    op.drop_table("understanding_words")

"""Understanding: the models an office retrains from its recategorisations.

Revision ID: 0013_understanding_models
Revises: 0011_understanding
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_understanding_models"
down_revision = "0011_understanding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "understanding_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("texts", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_understanding_models"),
    )


def downgrade() -> None:
    op.drop_table("understanding_models")

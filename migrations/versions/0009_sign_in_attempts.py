"""issue 15: sign-in throttle and audit

Failed and successful sign-ins with their time and client address. The throttle counts recent failures
per account and per client from here, so restarting the app does not reset it.

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sign_in_attempts") as batch:
        batch.create_index("ix_sign_in_attempts_username_at", ["username", "at"], unique=False)
        batch.create_index("ix_sign_in_attempts_client_at", ["client", "at"], unique=False)
        batch.create_index("ix_sign_in_attempts_at", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("sign_in_attempts")

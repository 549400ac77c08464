"""issue 2: log out revokes remembered logins

A signed re-auth cookie stays valid until it expires, wherever a copy of it lives, so Log out
records the time and the app refuses cookies issued before it.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("logins_revoked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("logins_revoked_at")

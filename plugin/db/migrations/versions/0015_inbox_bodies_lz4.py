"""Inbox bodies are compressed with lz4 on PostgreSQL

A webhook body (an order is 6-12 KB of JSON) is over PostgreSQL's 2 KB TOAST threshold, so the
server compresses it inside the inbox INSERT that the platform's 200 waits for. The default
method, pglz, cost ~170 us of server CPU per 11 KB body on the reference machine against ~45 us
for lz4 (20,000 rows: 3.46 against 0.92 CPU-s), and on two cores that CPU is taken from the web
workers. lz4 needs PostgreSQL 14 built with it (Debian's and the official images are); where it
is missing the column keeps pglz. Rows stored before keep their compression: PostgreSQL reads
both. SQLite stores bodies uncompressed; nothing changes there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _lz4_available(bind) -> bool:
    if bind.dialect.name != 'postgresql' or bind.dialect.server_version_info < (14,):
        return False
    methods = bind.execute(sa.text(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
    return methods is not None and 'lz4' in methods


def upgrade() -> None:
    bind = op.get_bind()
    if _lz4_available(bind):
        op.execute('ALTER TABLE webhook_events ALTER COLUMN body SET COMPRESSION lz4')


def downgrade() -> None:
    bind = op.get_bind()
    if _lz4_available(bind):
        op.execute('ALTER TABLE webhook_events ALTER COLUMN body SET COMPRESSION pglz')

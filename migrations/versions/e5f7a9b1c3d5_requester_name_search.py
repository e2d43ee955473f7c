"""Requester name search: a trigram index on users.name (PostgreSQL only).

Revision ID: e5f7a9b1c3d5
Revises: d4e6f8a0b2c4
Create Date: 2026-11-28 09:00:00

The dashboard's word search matches the subject or the requester's name (ILIKE '%karen%');
on PostgreSQL the names are found through this index, like subjects through
ix_tickets_subject_trgm. SQLite scans users with LIKE instead. Keep in step with
`workflow/models/people.py`; the migration test compares the migrated schema with the models.
"""
from alembic import op


revision = 'e5f7a9b1c3d5'
down_revision = 'd4e6f8a0b2c4'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_users_name_trgm', 'users', ['name'], unique=False, postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_users_name_trgm', table_name='users')

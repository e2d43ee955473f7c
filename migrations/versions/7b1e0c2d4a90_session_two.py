"""Second schema step: SLA calendars and timers, canned responses, attachments, admin history.

Revision ID: 7b1e0c2d4a90
Revises: 56cef275a2ae
Create Date: 2026-11-27 00:55:00

Each feature owns one section below (upgrade and downgrade). Keep the sections in step with
`workflow/models.py`; the migration test compares the migrated schema with the models.
"""
from alembic import op
import sqlalchemy as sa


revision = '7b1e0c2d4a90'
down_revision = '56cef275a2ae'
branch_labels = None
depends_on = None


def upgrade():
    # --- section: SLA calendars, plans and timers -------------------------------------
    pass
    # --- section: canned responses and attachments ------------------------------------
    pass
    # --- section: admin history -------------------------------------------------------
    pass


def downgrade():
    # --- section: admin history -------------------------------------------------------
    pass
    # --- section: canned responses and attachments ------------------------------------
    pass
    # --- section: SLA calendars, plans and timers -------------------------------------
    pass

"""The mail outbox: one row per notice, written in the transaction of the change.

Revision ID: d4e6f8a0b2c4
Revises: c3d5e7f9a1b2
Create Date: 2026-11-27 07:30:00

Keep in step with `workflow/models/outbox.py`; the migration test compares the migrated
schema with the models.
"""
from alembic import op
import sqlalchemy as sa


revision = 'd4e6f8a0b2c4'
down_revision = 'c3d5e7f9a1b2'
branch_labels = None
depends_on = None


def upgrade():
    big = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table('mail_outbox',
    sa.Column('id', big, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', big, nullable=False),
    sa.Column('recipient_id', big, nullable=True),
    sa.Column('group_id', sa.BigInteger(), nullable=True),
    sa.Column('log_id', sa.BigInteger(), nullable=True),
    sa.Column('entry_id', sa.BigInteger(), nullable=True),
    sa.Column('parent_id', big, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_mail_outbox_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_mail_outbox_recipient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['mail_outbox.id'], name=op.f('fk_mail_outbox_parent_id_mail_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('parent_id', 'recipient_id', name='uq_mail_outbox_person')
    )
    op.create_index('ix_mail_outbox_unsent', 'mail_outbox', ['created_at'], unique=False, postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))


def downgrade():
    op.drop_index('ix_mail_outbox_unsent', table_name='mail_outbox')
    op.drop_table('mail_outbox')

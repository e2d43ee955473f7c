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
    op.create_table('calendars',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendars')),
    sa.UniqueConstraint('name', name=op.f('uq_calendars_name'))
    )
    # Foreign-key columns are added with their constraint inline: SQLite then adds them in
    # place (ALTER TABLE ... ADD COLUMN ... REFERENCES) instead of copying the table, which
    # would fail on a database whose rows other tables already reference.
    with op.batch_alter_table('sla_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_risk_percent', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('at_risk_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('calendar_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.ForeignKey('calendars.id', name=op.f('fk_sla_plans_calendar_id_calendars')), nullable=True))
        batch_op.add_column(sa.Column('escalation_policy', sa.JSON(), nullable=True))
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.ForeignKey('users.id', name=op.f('fk_departments_manager_id_users')), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_response_paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_response_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_response_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_response_paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('timer_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_tickets_timer_due_at', ['timer_due_at'], unique=False, postgresql_where=sa.text('timer_due_at IS NOT NULL'), sqlite_where=sa.text('timer_due_at IS NOT NULL'))
    op.create_table('sla_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('clock', sa.String(length=20), nullable=False),
    sa.Column('cycle', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sla_steps_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_steps')),
    sa.UniqueConstraint('ticket_id', 'clock', 'cycle', 'step', name='uq_sla_steps_step')
    )
    with op.batch_alter_table('sla_steps', schema=None) as batch_op:
        batch_op.create_index('ix_sla_steps_done_at', ['done_at'], unique=False)
    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_notifications_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user', ['user_id', 'id'], unique=False)
    # --- section: canned responses and attachments ------------------------------------
    op.create_table('canned_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_responses')),
    sa.UniqueConstraint('name', name=op.f('uq_canned_responses_name'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('thread_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uploader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_attachments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thread_entry_id'], ['thread_entries.id'], name=op.f('fk_attachments_thread_entry_id_thread_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_attachments_uploader_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_attachments_storage_key'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index('ix_attachments_ticket', ['ticket_id', 'id'], unique=False)
        batch_op.create_index('ix_attachments_entry', ['thread_entry_id'], unique=False)
    # --- section: admin history -------------------------------------------------------
    op.create_table('admin_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_admin_changes_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_changes'))
    )
    with op.batch_alter_table('admin_changes', schema=None) as batch_op:
        batch_op.create_index('ix_admin_changes_at', ['at', 'id'], unique=False)
        batch_op.create_index('ix_admin_changes_subject', ['kind', 'subject', 'id'], unique=False)
    # --- section: search indexes -------------------------------------------------------
    # Queue indexes in the dashboard's order (priority DESC, due time ascending, NULLS LAST
    # on PostgreSQL, id), partial on the queue, with the agent-scope columns INCLUDEd
    # (PostgreSQL only) so capped counts are index-only scans; they replace the
    # (column, state, priority, due) ones, whose order no queue query could use at 1M rows.
    live = 'closed_at IS NULL'
    unassigned = 'closed_at IS NULL AND assignee_id IS NULL AND team_id IS NULL'
    order = [sa.text('priority_id DESC'), 'next_due_at', 'id']
    for name in ('ix_tickets_queue', 'ix_tickets_assignee_queue', 'ix_tickets_team_queue', 'ix_tickets_department_queue'):
        op.drop_index(name, table_name='tickets')
    for name, leading, where, include in (
        ('ix_tickets_open_queue', [], live, ['department_id', 'assignee_id', 'team_id']),
        ('ix_tickets_closed_queue', [], 'closed_at IS NOT NULL', ['department_id', 'assignee_id']),
        ('ix_tickets_unassigned_queue', [], unassigned, ['department_id', 'assignee_id']),
        ('ix_tickets_assignee_queue', ['assignee_id'], live, ['department_id']),
        ('ix_tickets_team_queue', ['team_id'], live, ['department_id', 'assignee_id']),
        ('ix_tickets_state_queue', ['state'], live, ['department_id', 'assignee_id']),
    ):
        op.create_index(name, 'tickets', leading + order, unique=False, postgresql_where=sa.text(where), sqlite_where=sa.text(where), postgresql_include=include)
    op.create_index('ix_users_email_lower', 'users', [sa.text('lower(email)')], unique=False)
    op.create_index(op.f('ix_users_role'), 'users', ['role'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Subject search (ILIKE '%words%') through trigrams; SQLite scans with LIKE instead.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_tickets_subject_trgm', 'tickets', ['subject'], unique=False, postgresql_using='gin', postgresql_ops={'subject': 'gin_trgm_ops'})
    # --- section: ops ---------------------------------------------------------------------
    # SLA compliance finds the clocks decided in a window by their stop and due times.
    for column in ('first_response_due_at', 'first_responded_at', 'resolution_due_at', 'resolved_at'):
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(f'ix_tickets_{column}', 'tickets', [column], unique=False, postgresql_where=where, sqlite_where=where)
    # Open tickets per SLA plan: the plan list's counts and the re-clocking of a changed plan.
    open_only = sa.text('closed_at IS NULL')
    op.create_index('ix_tickets_open_sla_plan', 'tickets', ['sla_plan_id'], unique=False, postgresql_where=open_only, sqlite_where=open_only)


def downgrade():
    # --- section: ops ---------------------------------------------------------------------
    op.drop_index('ix_tickets_open_sla_plan', table_name='tickets')
    for column in ('resolved_at', 'resolution_due_at', 'first_responded_at', 'first_response_due_at'):
        op.drop_index(f'ix_tickets_{column}', table_name='tickets')
    # --- section: search indexes -------------------------------------------------------
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_tickets_subject_trgm', table_name='tickets')
    op.drop_index(op.f('ix_users_role'), table_name='users')
    op.drop_index('ix_users_email_lower', table_name='users')
    for name in ('ix_tickets_state_queue', 'ix_tickets_team_queue', 'ix_tickets_assignee_queue', 'ix_tickets_unassigned_queue', 'ix_tickets_closed_queue', 'ix_tickets_open_queue'):
        op.drop_index(name, table_name='tickets')
    op.create_index('ix_tickets_queue', 'tickets', ['state', sa.text('priority_id DESC'), 'next_due_at', 'id'], unique=False)
    op.create_index('ix_tickets_assignee_queue', 'tickets', ['assignee_id', 'state', sa.text('priority_id DESC'), 'next_due_at'], unique=False)
    op.create_index('ix_tickets_team_queue', 'tickets', ['team_id', 'state', sa.text('priority_id DESC'), 'next_due_at'], unique=False)
    op.create_index('ix_tickets_department_queue', 'tickets', ['department_id', 'state', sa.text('priority_id DESC'), 'next_due_at'], unique=False)
    # --- section: admin history -------------------------------------------------------
    with op.batch_alter_table('admin_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_changes_subject')
        batch_op.drop_index('ix_admin_changes_at')

    op.drop_table('admin_changes')
    # --- section: canned responses and attachments ------------------------------------
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_entry')
        batch_op.drop_index('ix_attachments_ticket')
    op.drop_table('attachments')
    op.drop_table('canned_responses')
    # --- section: SLA calendars, plans and timers -------------------------------------
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user')
    op.drop_table('notifications')
    with op.batch_alter_table('sla_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_steps_done_at')
    op.drop_table('sla_steps')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_timer_due_at', postgresql_where=sa.text('timer_due_at IS NOT NULL'), sqlite_where=sa.text('timer_due_at IS NOT NULL'))
        batch_op.drop_column('timer_due_at')
        batch_op.drop_column('next_response_paused_at')
        batch_op.drop_column('next_response_due_at')
        batch_op.drop_column('next_response_started_at')
        batch_op.drop_column('first_response_paused_at')
        batch_op.drop_column('sla_started_at')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_departments_manager_id_users'), type_='foreignkey')
        batch_op.drop_column('manager_id')
    with op.batch_alter_table('sla_plans', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_sla_plans_calendar_id_calendars'), type_='foreignkey')
        batch_op.drop_column('escalation_policy')
        batch_op.drop_column('calendar_id')
        batch_op.drop_column('at_risk_minutes')
        batch_op.drop_column('at_risk_percent')
    op.drop_table('calendars')

"""Third schema step: SLA attribution and mail outbox, queue-page indexes, attachments.

Revision ID: c3d5e7f9a1b2
Revises: 7b1e0c2d4a90
Create Date: 2026-11-27 04:00:00

Each feature owns one section below (upgrade and downgrade). Keep the sections in step with
`workflow/models.py`; the migration test compares the migrated schema with the models.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d5e7f9a1b2'
down_revision = '7b1e0c2d4a90'
branch_labels = None
depends_on = None


def upgrade():
    # --- section: SLA compliance attribution and mail ----------------------------------
    # Steps and outcomes remember the plan, team and department of their time; existing
    # steps take the ticket's current ones (the best record there is).
    big = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    # SQLite copies the table; resolve_fks=False keeps it from reflecting every table the
    # keys lead to (users' expression index cannot be reflected and would warn)
    with op.batch_alter_table('sla_steps', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.add_column(sa.Column('plan_id', big, nullable=True))
        batch_op.add_column(sa.Column('team_id', big, nullable=True))
        batch_op.add_column(sa.Column('department_id', big, nullable=True))
        batch_op.create_foreign_key(op.f('fk_sla_steps_plan_id_sla_plans'), 'sla_plans', ['plan_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(op.f('fk_sla_steps_team_id_teams'), 'teams', ['team_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(op.f('fk_sla_steps_department_id_departments'), 'departments', ['department_id'], ['id'], ondelete='SET NULL')
    steps = sa.table('sla_steps', sa.column('ticket_id'), sa.column('plan_id'), sa.column('team_id'), sa.column('department_id'))
    tickets = sa.table('tickets', sa.column('id'), sa.column('sla_plan_id'), sa.column('team_id'), sa.column('department_id'))
    of_ticket = lambda column: sa.select(column).where(tickets.c.id == steps.c.ticket_id).scalar_subquery()  # noqa: E731
    op.execute(
        steps.update().values(
            plan_id=of_ticket(tickets.c.sla_plan_id),
            team_id=of_ticket(tickets.c.team_id),
            department_id=of_ticket(tickets.c.department_id),
        )
    )
    op.create_table('sla_outcomes',
    sa.Column('id', big, nullable=False),
    sa.Column('ticket_id', big, nullable=False),
    sa.Column('clock', sa.String(length=20), nullable=False),
    sa.Column('cycle', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan_id', big, nullable=True),
    sa.Column('team_id', big, nullable=True),
    sa.Column('department_id', big, nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sla_outcomes_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['sla_plans.id'], name=op.f('fk_sla_outcomes_plan_id_sla_plans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_sla_outcomes_team_id_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_sla_outcomes_department_id_departments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_outcomes')),
    sa.UniqueConstraint('ticket_id', 'clock', 'cycle', name='uq_sla_outcomes_run')
    )
    with op.batch_alter_table('sla_outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_sla_outcomes_ended_at', ['ended_at'], unique=False)
    # --- section: queue pages ----------------------------------------------------------
    # An agent's capped counts read the queue's entries in their departments, and their
    # own tickets outside them, as index ranges (web/staff/queue_counts.py).
    live = 'closed_at IS NULL'
    for name, columns, where in (
        ('ix_tickets_department_live', ['department_id', 'state'], live),
        ('ix_tickets_department_unassigned', ['department_id'], f'{live} AND assignee_id IS NULL AND team_id IS NULL'),
        ('ix_tickets_department_closed', ['department_id'], 'closed_at IS NOT NULL'),
    ):
        op.create_index(name, 'tickets', columns, unique=False, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    op.create_index('ix_tickets_assignee_department', 'tickets', ['assignee_id', 'department_id'], unique=False)
    # --- section: attachments and live ------------------------------------------------
    pass
    # --- section: re-clock runs ------------------------------------------------------------
    # A big SLA plan or calendar change re-clocks its open tickets in background batches
    # (workflow/reclock_runs.py, jobs/reclock.py); each batch commits with the run's cursor.
    op.create_table('reclock_runs',
    sa.Column('id', big, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('last_ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('up_to_ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('actor_id', big, nullable=True),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('progressed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_reclock_runs_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reclock_runs'))
    )
    op.create_index('ix_reclock_runs_unfinished', 'reclock_runs', ['id'], unique=False, postgresql_where=sa.text('finished_at IS NULL'), sqlite_where=sa.text('finished_at IS NULL'))


def downgrade():
    # --- section: re-clock runs ------------------------------------------------------------
    op.drop_index('ix_reclock_runs_unfinished', table_name='reclock_runs')
    op.drop_table('reclock_runs')
    # --- section: attachments and live ------------------------------------------------
    pass
    # --- section: queue pages ----------------------------------------------------------
    for name in ('ix_tickets_assignee_department', 'ix_tickets_department_closed', 'ix_tickets_department_unassigned', 'ix_tickets_department_live'):
        op.drop_index(name, table_name='tickets')
    # --- section: SLA compliance attribution and mail ----------------------------------
    with op.batch_alter_table('sla_outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_outcomes_ended_at')
    op.drop_table('sla_outcomes')
    with op.batch_alter_table('sla_steps', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.drop_constraint(op.f('fk_sla_steps_department_id_departments'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_sla_steps_team_id_teams'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_sla_steps_plan_id_sla_plans'), type_='foreignkey')
        batch_op.drop_column('department_id')
        batch_op.drop_column('team_id')
        batch_op.drop_column('plan_id')

"""The forms of the admin's people and structure pages. Flask-WTF adds the CSRF token to each.

Choices are checked by the domain verbs (which say in a sentence what is wrong), so the
select fields here never refuse a value themselves, and their coercion never raises: a
tampered value becomes an id no row has, and the verb names the problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from web.forms import MIN_PASSWORD
from workflow.handover import QUEUE, Destination

NO_ROW = -1
"""What a value that is not a number becomes: an id no row has."""


def row_id(value: Any) -> int:
    """Coerce a posted id; never raises (see the module docstring)."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdecimal() else NO_ROW


def optional_id(value: Any) -> int | None:
    """An id, or None for the empty choice ("none")."""
    if value in (None, "", "None"):
        return None
    return row_id(value)


def options(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (works without JavaScript, unlike chips)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label: str, **kw: Any):
        super().__init__(label, coerce=row_id, validate_choice=False, **kw)


ROLE_CHOICES = options(
    [
        ("agent", "Agent: works tickets in their departments"),
        ("admin", "Admin: works tickets and changes how the help desk is set up"),
        ("ops", "Ops: watches queues and system health; owns no tickets"),
    ]
)


class StaffForm(FlaskForm):
    """Name, role and memberships (what an admin may change on an existing account)."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the person's name."),
            Length(max=120, message="Keep the name under 120 characters."),
        ],
    )
    role = RadioField("Role", choices=ROLE_CHOICES, default="agent", validate_choice=False)
    departments = MultiCheckboxField("Departments (agents see these departments' tickets)")
    teams = MultiCheckboxField("Teams")


class NewStaffForm(StaffForm):
    """A new account: also the email, and how the person gets their password."""

    email = EmailField("Email", validators=[DataRequired("Enter the person's email address.")])
    access = RadioField(
        "How they get in",
        choices=options(
            [
                ("invite", "Email them a link to choose their own password (recommended)"),
                ("password", "Set an initial password now and give it to them in person"),
            ]
        ),
        default="invite",
        validate_choice=False,
    )
    password = PasswordField("Initial password")
    confirm = PasswordField("Repeat the initial password")

    def validate_access(self, field: RadioField) -> None:
        if field.data not in ("invite", "password"):
            raise ValidationError("Choose how the person gets their password.")

    def validate_password(self, field: PasswordField) -> None:
        if self.access.data != "password":
            return
        if len(field.data or "") < MIN_PASSWORD:
            raise ValidationError(f"Choose a password of at least {MIN_PASSWORD} characters.")
        if len(field.data) > 200:
            raise ValidationError("Keep the password under 200 characters.")

    def validate_confirm(self, field: PasswordField) -> None:
        if self.access.data == "password" and field.data != self.password.data:
            raise ValidationError("The two passwords are not the same.")


class PasswordResetForm(FlaskForm):
    lock = BooleanField(
        "Their current password may be known to someone else: stop it working now "
        "(they cannot sign in until they use the link)"
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: a button that changes something (reactivate, deactivate, delete)."""


def parse_destination(value: str | None) -> Destination | None:
    """`agent:<id>`, `team:<id>` or `queue` as posted by the deactivation form; None when
    blank or not understood (the form then asks again)."""
    value = (value or "").strip()
    if value == "queue":
        return QUEUE
    kind, _, number = value.partition(":")
    if not number.isdecimal():
        return None
    if kind == "agent":
        return Destination(agent_id=int(number))
    if kind == "team":
        return Destination(team_id=int(number))
    return None


def seen_versions(value: str | None) -> dict[int, int]:
    """The `id:version,...` the deactivation form was shown with (garbage entries dropped)."""
    seen = {}
    for pair in (value or "").split(","):
        ticket, _, version = pair.partition(":")
        if ticket.isdecimal() and version.isdecimal():
            seen[int(ticket)] = int(version)
    return seen


class DepartmentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the department a name.")])


class TeamForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the team a name.")])
    department_id = SelectField("Department", coerce=optional_id, validate_choice=False)
    members = MultiCheckboxField("Members")


class TopicForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the help topic a name.")])
    department_id = SelectField("Department", coerce=optional_id, validate_choice=False)
    priority_id = SelectField("Default priority", coerce=optional_id, validate_choice=False)
    sla_plan_id = SelectField("SLA plan", coerce=optional_id, validate_choice=False)
    workflow_id = SelectField("Workflow", coerce=optional_id, validate_choice=False)
    is_active = BooleanField("Active (customers and agents can choose it)", default=True)

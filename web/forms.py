"""Forms with their validation messages; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Regexp
from wtforms.widgets import HiddenInput

MIN_PASSWORD = 10
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (registration and password reset)."""

    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=MIN_PASSWORD,
                max=200,
                message=f"Choose a password of at least {MIN_PASSWORD} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[EqualTo("password", "The two passwords are not the same.")],
    )


class RegisterForm(NewPasswordForm):
    name = StringField(
        "Your name",
        validators=[
            DataRequired("Tell us your name."),
            Length(max=120, message="Keep the name under 120 characters."),
        ],
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email address."),
            Regexp(EMAIL, message="That does not look like an email address."),
            Length(max=254, message="That email address is too long."),
        ],
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change state (sign out)."""


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])


class OpenTicketForm(FlaskForm):
    help_topic_id = SelectField("What is it about?", coerce=int)
    subject = StringField(
        "Subject",
        validators=[
            DataRequired("Give the ticket a subject."),
            Length(max=255, message="Keep the subject under 255 characters."),
        ],
    )
    body = TextAreaField("Describe the issue", validators=[DataRequired("Describe the issue.")])


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", validators=[DataRequired("Write a message first.")])
    version = IntegerField(widget=HiddenInput())


class VersionForm(FlaskForm):
    """A button that fires an event on the version of the ticket the person saw."""

    version = IntegerField(widget=HiddenInput())


class ReopenForm(VersionForm):
    """ "It is still a problem", with what is still wrong if the customer says (optional)."""

    message = TextAreaField("What is still wrong?")


class ActionForm(VersionForm):
    """A VersionForm from a page whose forms carry the CSRF token themselves (`{{
    csrf_token() }}`, not the form's own field): CSRFProtect checks that token on every POST
    before any view runs (web/__init__.py), so the form does not check it a second time (an
    HMAC and a signed-token parse, about 0.1 ms, on the route agents use most)."""

    class Meta:
        csrf = False


class ComposerForm(FlaskForm):
    """Reply to the customer or add an internal note: one composer, two modes."""

    mode = RadioField(
        "Send as",
        choices=[
            SelectChoice("reply", "Reply to the customer"),
            SelectChoice("note", "Internal note (staff only)"),
        ],
        default="reply",
    )
    body = TextAreaField("Message", validators=[DataRequired("Write the message first.")])
    version = IntegerField(widget=HiddenInput())


class IntakeForm(FlaskForm):
    """An agent opens a ticket for a customer (phone or walk-in)."""

    email = EmailField("Customer's email", validators=[DataRequired("Enter the customer's email.")])
    name = StringField("Customer's name (for a new customer)")
    help_topic_id = SelectField("Help topic", coerce=int)
    subject = StringField(
        "Subject",
        validators=[
            DataRequired("Give the ticket a subject."),
            Length(max=255, message="Keep the subject under 255 characters."),
        ],
    )
    body = TextAreaField("What the customer said", validators=[DataRequired("Describe the issue.")])

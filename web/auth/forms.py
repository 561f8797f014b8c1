"""The login and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """Username and password; CSRF-protected like every form."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Log in"))


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (the rules are the accounts service's)."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The two entries differ."))])
    submit = SubmitField(_l("Set the password"))


class ChangePasswordForm(NewPasswordForm):
    """The account holder's own change: the current password first."""

    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    submit = SubmitField(_l("Change the password"))


class ForgotPasswordForm(FlaskForm):
    """The username of the account whose password is forgotten."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    submit = SubmitField(_l("Send me a link"))

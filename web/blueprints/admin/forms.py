"""The forms of the admin area."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from web.labels import AUDIT_ENTITIES
from web.labels import USER_ROLES as ROLE_LABELS
from web.models import ROLES


class AuditFilterForm(FlaskForm):
    """Filters of the audit log, read from the query string (a GET form: no CSRF token needed)."""

    class Meta:
        csrf = False

    actor = StringField(_l("Actor"), validators=[Optional(), Length(max=80)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=60)])
    entity_type = StringField(_l("Entity type"), validators=[Optional(), Length(max=40)])
    entity_id = StringField(_l("Entity id"), validators=[Optional(), Length(max=64)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])
    exclude = SelectMultipleField(_l("Leave out"), choices=[SelectChoice(entity, label) for entity, label in
                                                           AUDIT_ENTITIES.items()], validate_choice=False,
                                  filters=[lambda values: [value for value in values or () if value]],
                                  widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    """Entity types whose events are not shown: the system records several state changes of every job (claimed,
    retried, stalled, done, …), which can bury the events people made. An empty value names none (``exclude=``, as
    ``actor=`` is no filter)."""
    submit = SubmitField(_l("Filter"))

    def validate_exclude(self, field: SelectMultipleField) -> None:
        """Only the entity types the log knows (a mistyped one would hide nothing and look applied)."""
        unknown = [value for value in field.data if value not in AUDIT_ENTITIES]
        if unknown:
            raise ValidationError(_("No such entity type: %(values)s", values="、".join(unknown)))


class CreateUserForm(FlaskForm):
    """A new account: username, role, initial password and, for experts, the expert's ref."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    role = SelectField(_l("Role"), choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES])
    password = PasswordField(_l("Initial password"), validators=[DataRequired()])
    expert_ref = StringField(_l("Expert ref (expert accounts only)"), validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("Create account"))


class CreateTokenForm(FlaskForm):
    """A new API token: what it is for, for how long, and (admins only) for which account."""

    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    username = StringField(_l("Account (admins only; empty for yourself)"),
                           validators=[Optional(), Length(max=80)])
    expires_days = IntegerField(_l("Expires after (days)"),
                                validators=[Optional(), NumberRange(min=1, max=3650)])
    submit = SubmitField(_l("Create token"))

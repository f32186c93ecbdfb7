from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import InputRequired

from app.forms import MultiCheckboxField, options
from app.roles import ROLE_LABELS

ROLE_CHOICES = options((role.value, label) for role, label in ROLE_LABELS.items())


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired("Enter your e-mail address.")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])


class UserForm(FlaskForm):
    name = StringField("Name")
    email = EmailField("E-mail")
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validate_choice=False)


class NewUserForm(UserForm):
    password = PasswordField("Initial password", description="At least 10 characters. Share it privately.")


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", description="At least 10 characters.")


class ChangeOwnPasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[InputRequired("Enter your current password.")])
    password = PasswordField("New password", description="At least 10 characters.")

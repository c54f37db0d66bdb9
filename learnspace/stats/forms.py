"""Forms of the statistics pages (the values are parsed by operations, with Chinese messages)."""
from flask_wtf import FlaskForm


class CsrfForm(FlaskForm):
    """Only the CSRF token: targets and weights are parsed by operations.parse_target/parse_weights."""

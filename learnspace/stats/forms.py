"""Forms of the statistics pages (the values are parsed by operations, with Chinese messages)."""
from ..forms import Form


class CsrfForm(Form):
    """Only the CSRF token: targets and weights are parsed by operations.parse_target/parse_weights."""

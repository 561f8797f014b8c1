"""The JSON API under /api/v1, for organizers' integrations and experts' own sheets.

Requests authenticate with ``Authorization: Bearer <token>`` only: the session cookie is ignored, so the API
is exempt from CSRF (a browser cannot be tricked into sending a bearer token).
"""

from flask import Blueprint

from web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

from . import auth, centers, errors, views  # noqa: E402,F401  (registers the hooks and views on bp)

"""The registered records: the lists of applications and experts and one application in full, uploads of
applications and experts with a preview, the form of one record, and attachments."""

from flask import Blueprint
from werkzeug.routing import BaseConverter

bp = Blueprint("records", __name__, url_prefix="/records")


class RecordRefConverter(BaseConverter):
    """A record's ref in a path: one segment, but not a word the record pages use after a kind.

    /records/applications/new, …/upload and …/template.xlsx are pages of their own; without this a static
    "applications" segment followed by <ref> would win over them and read "new" as a ref."""

    regex = r"(?!(?:new|upload|template\.xlsx)$)[^/]+"


bp.record_once(lambda state: state.app.url_map.converters.setdefault("record_ref", RecordRefConverter))

from . import lists, views  # noqa: E402,F401  (registers the views on bp)

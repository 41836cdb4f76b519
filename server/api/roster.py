"""POST /api/v1/roster/import — the office's roster sheet (CSV or XLSX) as a dry run, then a commit.

The file comes as multipart form field `file` or as the raw request body. Without `commit=true` nothing is
written and every bad row is reported by line number; with it, either every row is imported or none is.
"""
from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api.common import ErrorSchema, StrictSchema
from server.http.auth import staff_principal
from core.domain.roster import import_roster, resolve_parent
from core.domain.roster_files import read_roster
from core.domain.errors import BadRequest
from core.db import db

blp = Blueprint("roster", __name__, url_prefix="/api/v1/roster",
                description="Import the roster (communities, grids, people, roles) from CSV or XLSX")


class RosterImportArgs(StrictSchema):
    commit = fields.Boolean(load_default=False, metadata={"description": "apply the import; default is a dry run"})
    parent = fields.String(load_default=None, metadata={
        "description": "code of the sub-district the roster belongs to (optional when there is only one)"})


class RowErrorSchema(Schema):
    line = fields.Integer(metadata={"description": "line (CSV) or row (XLSX) number as the clerk sees it"})
    sheet = fields.String(metadata={"description": "the worksheet, in workbooks with several roster sheets"})
    field = fields.String()
    message = fields.String()
    value = fields.String(metadata={"description": "the cell as written"})


class NewAreaSchema(Schema):
    code = fields.String()
    name = fields.String()
    parent = fields.String()


class NewMemberSchema(Schema):
    name = fields.String()
    phone = fields.String()


class RosterChangesSchema(Schema):
    communities = fields.List(fields.Nested(NewAreaSchema))
    grids = fields.List(fields.Nested(NewAreaSchema))
    members = fields.List(fields.Nested(NewMemberSchema))
    assignments = fields.Integer()


class SkippedSheetSchema(Schema):
    sheet = fields.String()
    reason = fields.String()


class RosterReportSchema(Schema):
    ok = fields.Boolean()
    rows = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))
    would_create = fields.Nested(RosterChangesSchema)
    created = fields.Nested(RosterChangesSchema)
    unchanged = fields.Integer(metadata={"description": "rows already in the database"})
    parent = fields.String()
    committed = fields.Boolean()
    sheets_skipped = fields.List(fields.Nested(SkippedSheetSchema),
                                 metadata={"description": "worksheets without the roster columns (notes etc.)"})


_FILE_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}},
    },
}


def _uploaded_file() -> tuple[bytes, str | None]:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None:
            raise BadRequest("the multipart body has no file field", code="file_missing",
                             details={"file": ["Send the roster as multipart field 'file'."]})
        return upload.read(), upload.filename
    # Any other content type (text/csv, an XLSX type, or curl's default form type) is the file itself.
    data = request.get_data(cache=False)
    if not data:
        raise BadRequest("send the roster file as multipart field 'file' or as the request body",
                         code="file_missing", details={"file": ["No file was sent."]})
    return data, None


@blp.route("/import", methods=["POST"])
@blp.arguments(RosterImportArgs, location="query", as_kwargs=True)
@blp.doc(requestBody=_FILE_BODY)
@blp.response(200, RosterReportSchema)
@blp.alt_response(201, schema=RosterReportSchema, description="committed")
@blp.alt_response(422, schema=ErrorSchema, description="bad file or, on commit, bad rows (nothing written)")
@blp.alt_response(403, schema=ErrorSchema)
def import_roster_file(commit: bool, parent: str | None):
    """Dry-run (default) or commit a roster import. Admins only."""
    principal = staff_principal()
    parent_area = resolve_parent(db.session, parent)
    principal.require_admin(parent_area, "import a roster")
    data, filename = _uploaded_file()
    table = read_roster(data, filename)
    report = import_roster(db.session, table, parent_area, commit=commit, channel="api", actor=principal.member,
                           region=current_app.config["GRIDPATROL_PHONE_REGION"],
                           principal=principal)
    db.session.commit()
    return report, (201 if commit else 200)

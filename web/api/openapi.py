"""The OpenAPI 3.1 document of /api/v1, written out by hand so every schema says what the serializers return."""

from __future__ import annotations

from typing import Any

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_NUMBER = {"type": ["number", "null"]}
NULLABLE_INTEGER = {"type": ["integer", "null"]}


def ref(name: str) -> dict:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], *, required: bool = True) -> dict:
    """An object schema whose properties are all present (as the serializers always write them)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(properties)
    return schema


def array(items: dict) -> dict:
    """An array schema."""
    return {"type": "array", "items": items}


SCHEMAS: dict[str, Any] = {
    "Error": obj({"error": {"type": "string", "description": "What went wrong, in one sentence."},
                  "errors": array({"type": "string"}) | {"description": "Every problem, one per line."}}),
    "Record": {"type": "object", "additionalProperties": True,
               "description": "An application or expert record in the shape of DESIGN §10 (dates as ISO "
                              "strings). Personal data (phone, mobile, fax, e-mail, ID) is masked unless the "
                              "token is an admin's."},
    "ImportResult": obj({"imported": {"type": "integer"}, "refs": array({"type": "string"})}),
    "ApplicationSummary": obj({
        "ref": {"type": "string"}, "center_name": {"type": "string"}, "field": {"type": "string"},
        "submitted_on": NULLABLE_STRING | {"format": "date"}, "bearer": {"type": "string"},
        "members": {"type": "integer"}}),
    "ExpertSummary": obj({
        "ref": {"type": "string"}, "name": {"type": "string"}, "pool": {"type": "string"}, "title": NULLABLE_STRING,
        "organization": NULLABLE_STRING, "fields": array({"type": "string"}), "max_load": NULLABLE_INTEGER,
        "available": {"type": "boolean"}}),
    "RoundSettings": obj({
        "mode": {"type": "string", "enum": ["individual", "meeting"]}, "panel_size": {"type": "integer"},
        "max_per_organization": {"type": "integer"}, "max_load": {"type": "integer"},
        "objective": {"type": "string", "enum": ["total", "fair"]}, "max_probability": NULLABLE_NUMBER,
        "seed": NULLABLE_INTEGER, "reserves": {"type": "integer"}, "weight_field": {"type": "number"},
        "weight_text": {"type": "number"}, "window_years": {"type": "integer"},
        "repeat_review_years": NULLABLE_INTEGER, "meeting_max_applications": NULLABLE_INTEGER,
        "auto_replace": {"type": "boolean"}}),
    "Round": obj({
        "id": {"type": "integer"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["selection_review", "site_inspection", "annual", "triennial"]},
        "state": {"type": "string", "enum": ["draft", "assigning", "scoring", "closed"]},
        "as_of": {"type": "string", "format": "date"}, "deadline": NULLABLE_STRING | {"format": "date"},
        "applications": {"type": "integer", "description": "How many applications the round reviews."},
        "settings": ref("RoundSettings")}),
    "Criterion": obj({
        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"},
        "max": {"type": "number"}, "step": {"type": "number"}, "veto": {"type": "boolean"},
        "comment_required": {"type": "boolean"}}),
    "RoundDetail": {"allOf": [ref("Round"), obj({
        "pool_quotas": array(obj({"pool": {"type": "string"}, "minimum": {"type": "integer"},
                                  "maximum": {"type": "integer"}})),
        "template": obj({"name": {"type": "string"}, "name_en": {"type": "string"}, "total": {"type": "number"},
                         "criteria": array(ref("Criterion"))}),
        "application_refs": array({"type": "string"})})]},
    "Seat": obj({
        "id": {"type": "integer"}, "expert": {"type": "string"}, "name": {"type": "string"},
        "pool": {"type": "string"}, "fit": NULLABLE_NUMBER, "field_fit": NULLABLE_NUMBER, "text_fit": NULLABLE_NUMBER,
        "state": {"type": "string", "enum": ["proposed", "invited", "accepted", "declined", "recused", "replaced"]},
        "state_reason": NULLABLE_STRING, "manual": {"type": "boolean"}, "panel": NULLABLE_INTEGER}),
    "Reserve": obj({"application": {"type": "string"}, "expert": {"type": "string"}, "name": {"type": "string"},
                    "rank": {"type": "integer"}, "fit": NULLABLE_NUMBER}),
    "Version": obj({
        "number": {"type": "integer"}, "status": {"type": "string", "enum": ["optimal", "infeasible", "manual"]},
        "seed": NULLABLE_INTEGER, "objective": NULLABLE_NUMBER, "bound": NULLABLE_NUMBER,
        "diagnostics": array({"type": "string"}), "created_at": {"type": "string", "format": "date-time"}}),
    "Assignments": obj({
        "round": {"type": "integer"}, "version": {"oneOf": [ref("Version"), {"type": "null"}]},
        "panels": array(obj({"application": {"type": "string"}, "seats": array(ref("Seat"))})),
        "reserves": array(ref("Reserve"))}),
    "Score": obj({"criterion": {"type": "string"}, "value": NULLABLE_NUMBER, "comment": NULLABLE_STRING}),
    "Sheet": obj({
        "id": {"type": "integer"}, "round": {"type": "integer"}, "application": {"type": "string"},
        "expert": {"type": "string"}, "state": {"type": "string", "enum": ["draft", "submitted", "reopened"]},
        "opinion": {"type": ["string", "null"], "enum": ["recommend", "conditional", "reject", None]},
        "comment": NULLABLE_STRING, "confidence": {"type": "number"}, "conflict_declared": {"type": ["boolean", "null"]},
        "total": {"type": "number"}, "submitted_at": NULLABLE_STRING | {"format": "date-time"},
        "reopened_at": NULLABLE_STRING | {"format": "date-time"}, "reopen_reason": NULLABLE_STRING,
        "scores": array(ref("Score"))}),
    "SheetDraft": obj({
        "values": {"type": "object", "additionalProperties": NULLABLE_NUMBER,
                   "description": "Points by criterion code; null clears a value."},
        "opinion": {"type": ["string", "null"], "enum": ["recommend", "conditional", "reject", None]},
        "comment": NULLABLE_STRING,
        "criterion_comments": {"type": "object", "additionalProperties": NULLABLE_STRING}}, required=False)
    | {"required": ["values"]},
    "Ranking": {"type": "object", "required": ["round", "ranking", "experts", "errors"],
                "description": "The scoring engine's result (DESIGN §10): ranking with score, interval, rank "
                               "interval, recommendation, grade, flags and trace per application.",
                "properties": {"round": {"type": "integer"}, "ranking": array({"type": "object"}),
                               "experts": array({"type": "object"}), "errors": array({"type": "string"}),
                               "settings": {"type": ["object", "null"]}}},
}

ERRORS = {
    "400": "The body is not JSON.",
    "401": "No token, or an unknown, revoked or expired one.",
    "403": "The token's account has the wrong role for this endpoint.",
    "404": "No such object, or it is not yours.",
    "422": "Refused input: every problem is listed in `errors`; nothing was changed.",
    "501": "The service behind this endpoint is not installed yet.",
}


def error(status: str) -> dict:
    """The response object of an error status."""
    return {"description": ERRORS[status], "content": {"application/json": {"schema": ref("Error")}}}


def ok(schema: dict, description: str = "OK") -> dict:
    """A JSON response."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def path_parameter(name: str, kind: str, description: str) -> dict:
    """A required path parameter."""
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": kind}}


ROUND_ID = path_parameter("round_id", "integer", "The round's id.")
SHEET_ID = path_parameter("sheet_id", "integer", "The sheet's id.")
REF = path_parameter("ref", "string", "The record's ref.")


def operation(operation_id: str, summary: str, responses: dict, *, errors: tuple[str, ...] = ("401", "403"),
              parameters: tuple[dict, ...] = (), body: dict | None = None, tag: str) -> dict:
    """One operation with its error responses; its id is the name of the view function serving it."""
    result: dict[str, Any] = {"summary": summary, "tags": [tag], "operationId": operation_id,
                              "responses": {**responses, **{status: error(status) for status in errors}}}
    if parameters:
        result["parameters"] = list(parameters)
    if body is not None:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return result


def import_operation(kind: str) -> dict:
    """POST a list of records, all or nothing."""
    return operation(f"import_{kind}", f"Import {kind} (a JSON list of records), all or nothing", {
        "201": ok(ref("ImportResult"), "Every record imported.")}, errors=("400", "401", "403", "422"),
        body=array(ref("Record")), tag=kind)


PATHS: dict[str, dict] = {
    "/applications": {
        "get": operation("list_applications", "List applications", {"200": ok(array(ref("ApplicationSummary")))}, tag="applications"),
        "post": import_operation("applications")},
    "/applications/{ref}": {
        "get": operation("get_application", "One application record (personal data masked unless admin)",
                         {"200": ok(ref("Record"))}, errors=("401", "403", "404"), parameters=(REF,),
                         tag="applications")},
    "/experts": {
        "get": operation("list_experts", "List experts", {"200": ok(array(ref("ExpertSummary")))}, tag="experts"),
        "post": import_operation("experts")},
    "/experts/{ref}": {
        "get": operation("get_expert", "One expert record (contact data masked unless admin)", {"200": ok(ref("Record"))},
                         errors=("401", "403", "404"), parameters=(REF,), tag="experts")},
    "/rounds": {"get": operation("list_rounds", "List rounds with state and settings", {"200": ok(array(ref("Round")))},
                                 tag="rounds")},
    "/rounds/{round_id}": {
        "get": operation("get_round", "One round: settings, quotas, template, applications", {"200": ok(ref("RoundDetail"))},
                         errors=("401", "403", "404"), parameters=(ROUND_ID,), tag="rounds")},
    "/rounds/{round_id}/assignments": {
        "get": operation("get_assignments", "The active assignment version's panels and reserves", {"200": ok(ref("Assignments"))},
                         errors=("401", "403", "404"), parameters=(ROUND_ID,), tag="assignments")},
    "/rounds/{round_id}/ranking": {
        "get": operation("get_ranking", "The round's ranking from the scoring engine", {"200": ok(ref("Ranking"))},
                         errors=("401", "403", "404", "501"), parameters=(ROUND_ID,), tag="ranking")},
    "/rounds/{round_id}/sheets": {
        "get": operation("list_round_sheets", "Every sheet of a round (organizers and admins)", {"200": ok(array(ref("Sheet")))},
                         errors=("401", "403", "404"), parameters=(ROUND_ID,), tag="sheets")},
    "/sheets": {"get": operation("list_own_sheets", "The calling expert's own sheets", {"200": ok(array(ref("Sheet")))},
                                 tag="sheets")},
    "/sheets/{sheet_id}": {
        "get": operation("get_sheet", "One sheet (experts: only their own)", {"200": ok(ref("Sheet"))},
                         errors=("401", "403", "404"), parameters=(SHEET_ID,), tag="sheets"),
        "put": operation("save_sheet", "Save draft values of the expert's own sheet", {"200": ok(ref("Sheet"))},
                         errors=("400", "401", "403", "404", "422", "501"), parameters=(SHEET_ID,),
                         body=ref("SheetDraft"), tag="sheets")},
    "/sheets/{sheet_id}/submit": {
        "post": operation("submit_sheet", "Submit and lock the expert's own sheet", {"200": ok(ref("Sheet"))},
                          errors=("401", "403", "404", "422", "501"), parameters=(SHEET_ID,), tag="sheets")},
    "/openapi.json": {
        "get": {"summary": "This document", "tags": ["documentation"], "operationId": "openapi_document",
                "security": [], "responses": {"200": ok({"type": "object"})}}},
}



def document() -> dict:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Panel API", "version": "1",
                 "description": "Applications, experts, rounds, assignments, score sheets and rankings of Panel. "
                                "Authenticate with `Authorization: Bearer <token>` (tokens are created at "
                                "/admin/tokens or with `panel tokens create`). Errors are "
                                "`{\"error\": ..., \"errors\": [...]}`."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name} for name in ("applications", "experts", "rounds", "assignments", "sheets",
                                             "ranking", "documentation")],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "An API token."}}},
    }

"""The OpenAPI 3.1 document of /api/v1: each schema says what the serializers write; the record schemas are
derived from web.records.schema, so a key added to the records is documented without further code."""

from __future__ import annotations

from typing import Any

from web.models import (
    ASSIGNMENT_STATES,
    CENTER_STATUSES,
    DECISION_OUTCOMES,
    JOB_STATES,
    OBJECTIVES,
    OPINIONS,
    PANEL_MODES,
    ROUND_KINDS,
    ROUND_STATES,
    SHEET_STATES,
)
from web.models.assignment import VERSION_STATUSES
from web.records.schema import POOLS, SCHEMAS, Group, Leaf, Table, Tags

from .errors import ERROR_CODES

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_NUMBER = {"type": ["number", "null"]}
NULLABLE_INTEGER = {"type": ["integer", "null"]}


def one_of(values: tuple[str, ...], *, nullable: bool = False) -> dict:
    """A string that is one of ``values`` (the model's own list), or null when ``nullable``."""
    if nullable:
        return {"type": ["string", "null"], "enum": [*values, None]}
    return {"type": "string", "enum": list(values)}


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


LEAF_TYPES = {"count": "integer", "year": "integer", "amount": "number", "signed": "number", "pct": "number",
              "bool": "boolean"}


def record_node(node: Leaf | Tags | Group | Table) -> dict:
    """The JSON Schema of one node of a record schema (web.records.schema), titled with its Chinese label."""
    if isinstance(node, Group):
        schema = record_object(node.children)
    elif isinstance(node, Table):
        schema = array(record_object(node.children))
        if node.max_items is not None:
            schema["maxItems"] = node.max_items
    elif isinstance(node, Tags):
        schema = array(one_of(tuple(node.choices)) if node.choices else STRING)
        if node.max_items is not None:
            schema["maxItems"] = node.max_items
    else:
        schema = leaf(node)
    return {"title": node.label, **schema}


def leaf(node: Leaf) -> dict:
    """A value: its JSON type, the codes an enum allows, its length limit; null unless required."""
    codes = tuple(node.choices) if node.choices else tuple(POOLS) if node.kind == "pool" else None
    schema: dict[str, Any] = {"type": LEAF_TYPES.get(node.kind, "string")}
    if codes:
        schema["enum"] = list(codes)
    if node.kind == "date":
        schema["format"] = "date"
    if node.max_length:
        schema["maxLength"] = node.max_length
    if not node.required:
        schema["type"] = [schema["type"], "null"]
        if codes:
            schema["enum"].append(None)
    return schema


def record_object(nodes: tuple) -> dict:
    """An object of record nodes: no other keys; the required ones must be there."""
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False,
                              "properties": {node.key: record_node(node) for node in nodes}}
    required = [node.key for node in nodes if getattr(node, "required", False)]
    if required:
        schema["required"] = required
    return schema


RECORD_NOTE = ("a DESIGN §10 record as `panel export` writes it (dates as ISO strings); an import also takes "
               "what `panel import` takes (Chinese labels of coded values, numbers as strings). In responses, "
               "personal data (phone, mobile, fax, e-mail, ID) is masked unless the token is an admin's.")


SCHEMAS: dict[str, Any] = {
    "Error": obj({"code": {"type": "string", "enum": list(ERROR_CODES),
                           "description": "What went wrong, as a stable code: " + "; ".join(
                               f"`{code}` ({meaning})" for code, meaning in ERROR_CODES.items())},
                  "error": {"type": "string", "description": "What went wrong, in one sentence in the request's "
                                                             "language (Chinese unless `?lang=en`)."},
                  "errors": array(STRING) | {"description": "Every problem, one per line."}}),
    "ApplicationRecord": record_object(SCHEMAS["applications"]) | {"description": f"An application: {RECORD_NOTE}"},
    "ExpertRecord": record_object(SCHEMAS["experts"]) | {"description": f"An expert: {RECORD_NOTE}"},
    "Job": obj({
        "id": INTEGER, "kind": STRING, "kind_label": STRING, "state": one_of(JOB_STATES),
        "state_label": STRING, "step_label": STRING, "done": INTEGER, "total": INTEGER,
        "progress_text": STRING, "finished": BOOLEAN, "round": NULLABLE_INTEGER,
        "created_at": {"type": "string", "format": "date-time"},
        "finished_at": NULLABLE_STRING | {"format": "date-time"},
        "error": NULLABLE_STRING | {"description": "Why the job failed, one sentence in the reader's language."},
        "errors": array(STRING) | {"description": "A refused import's errors, one per line (the first "
                                                   "PANEL_IMPORT_MAX_ERRORS, then how many more)."},
        "error_count": INTEGER,
        "result": {"type": ["object", "null"],
                   "description": "Once done: an import's {imported, refs}; a matching run's {version, active, "
                                  "status, diagnostics}."}}),
    "ApplicationSummary": obj({
        "ref": STRING, "center_name": STRING, "field": STRING,
        "submitted_on": NULLABLE_STRING | {"format": "date"}, "bearer": STRING,
        "members": INTEGER}),
    "ExpertSummary": obj({
        "ref": STRING, "name": STRING, "pool": STRING, "title": NULLABLE_STRING,
        "organization": NULLABLE_STRING, "fields": array(STRING), "max_load": NULLABLE_INTEGER,
        "available": BOOLEAN}),
    "RoundSettings": obj({
        "mode": one_of(PANEL_MODES), "panel_size": INTEGER,
        "max_per_organization": INTEGER, "max_load": INTEGER,
        "objective": one_of(OBJECTIVES), "max_probability": NULLABLE_NUMBER,
        "seed": NULLABLE_INTEGER, "reserves": INTEGER, "weight_field": NUMBER,
        "weight_text": NUMBER, "window_years": INTEGER,
        "repeat_review_years": NULLABLE_INTEGER, "meeting_max_applications": NULLABLE_INTEGER,
        "time_limit": NULLABLE_INTEGER,
        "auto_replace": BOOLEAN}),
    "Round": obj({
        "id": INTEGER, "name": STRING,
        "kind": one_of(ROUND_KINDS),
        "state": one_of(ROUND_STATES),
        "as_of": {"type": "string", "format": "date"}, "deadline": NULLABLE_STRING | {"format": "date"},
        "applications": {"type": "integer", "description": "How many applications the round reviews."},
        "settings": ref("RoundSettings")}),
    "Criterion": obj({
        "code": STRING, "name": STRING, "name_en": STRING,
        "max": NUMBER, "step": NUMBER, "veto": BOOLEAN,
        "comment_required": BOOLEAN}),
    "RoundDetail": {"allOf": [ref("Round"), obj({
        "pool_quotas": array(obj({"pool": STRING, "minimum": INTEGER,
                                  "maximum": INTEGER})),
        "template": obj({"name": STRING, "name_en": STRING, "total": NUMBER,
                         "criteria": array(ref("Criterion"))}),
        "application_refs": array(STRING)})]},
    "Seat": obj({
        "id": INTEGER, "expert": STRING, "name": STRING,
        "pool": STRING, "fit": NULLABLE_NUMBER, "field_fit": NULLABLE_NUMBER, "text_fit": NULLABLE_NUMBER,
        "state": one_of(ASSIGNMENT_STATES),
        "state_reason": NULLABLE_STRING, "manual": BOOLEAN, "panel": NULLABLE_INTEGER}),
    "Reserve": obj({"application": STRING, "expert": STRING, "name": STRING,
                    "rank": INTEGER, "fit": NULLABLE_NUMBER}),
    "Version": obj({
        "number": INTEGER, "status": one_of(VERSION_STATUSES),
        "seed": NULLABLE_INTEGER, "objective": NULLABLE_NUMBER, "bound": NULLABLE_NUMBER,
        "diagnostics": array(STRING), "created_at": {"type": "string", "format": "date-time"}}),
    "Assignments": obj({
        "round": INTEGER, "version": {"oneOf": [ref("Version"), {"type": "null"}]},
        "panels": array(obj({"application": STRING, "seats": array(ref("Seat"))})),
        "reserves": array(ref("Reserve"))}),
    "Score": obj({"criterion": STRING, "value": NULLABLE_NUMBER, "comment": NULLABLE_STRING}),
    "Sheet": obj({
        "id": INTEGER, "round": INTEGER, "application": STRING,
        "expert": STRING, "state": one_of(SHEET_STATES),
        "opinion": one_of(OPINIONS, nullable=True),
        "comment": NULLABLE_STRING, "confidence": NUMBER, "conflict_declared": {"type": ["boolean", "null"]},
        "total": NUMBER, "submitted_at": NULLABLE_STRING | {"format": "date-time"},
        "reopened_at": NULLABLE_STRING | {"format": "date-time"}, "reopen_reason": NULLABLE_STRING,
        "scores": array(ref("Score"))}),
    "SheetDraft": obj({
        "values": {"type": "object", "additionalProperties": NULLABLE_NUMBER,
                   "description": "Points by criterion code; null clears a value."},
        "opinion": one_of(OPINIONS, nullable=True),
        "comment": NULLABLE_STRING,
        "criterion_comments": {"type": "object", "additionalProperties": NULLABLE_STRING}}, required=False)
    | {"required": ["values"]},
    "Center": obj({
        "id": INTEGER, "application": STRING, "name": STRING, "status": one_of(CENTER_STATUSES),
        "listed_on": STRING | {"format": "date"},
        "targets": {"type": "object", "additionalProperties": NUMBER},
        "reports": array(obj({"year": INTEGER, "document": NULLABLE_STRING,
                              "indicators": {"type": "object", "additionalProperties": NULLABLE_NUMBER}}))}),
    "Decision": obj({
        "application": STRING, "outcome": one_of(DECISION_OUTCOMES), "decided_on": STRING | {"format": "date"},
        "document_no": STRING, "reason": NULLABLE_STRING, "center": NULLABLE_INTEGER}),
    "Ranking": {"type": "object", "required": ["round", "computed_at", "stale", "ranking", "experts", "errors"],
                "description": "The scoring engine's result (DESIGN §10): ranking with score, interval, "
                               "rank "
                               "interval, recommendation, grade, flags and trace per application. It is the "
                               "stored result, computed at ``computed_at`` (UTC); ``stale`` when the inputs "
                               "changed since and a recomputation is under way.",
                "properties": {"round": INTEGER, "computed_at": {"type": "string", "format": "date-time"},
                               "stale": BOOLEAN, "ranking": array({"type": "object"}),
                               "experts": array({"type": "object"}), "errors": array(STRING),
                               "settings": {"type": ["object", "null"]},
                               "calibration": {"type": ["object", "null"],
                                               "description": "With calibration on: the estimated bias variance, "
                                                              "the warnings and each expert's shrunk bias with "
                                                              "its support (docs/scoring.md)."}}},
}

ERRORS = {
    "400": "The body is not JSON.",
    "401": "No token, or an unknown, revoked or expired one.",
    "403": "The token's account has the wrong role for this endpoint.",
    "404": "No such object, or it is not yours.",
    "409": "The sheet was submitted (by another request, tab or device); nothing was changed.",
    "413": "The body is larger than PANEL_IMPORT_MAX_BYTES or lists more than PANEL_IMPORT_MAX_ROWS records.",
    "422": "Refused input: every problem is listed in `errors`; nothing was changed.",
}


def error(status: str) -> dict:
    """The response object of an error status."""
    return {"description": ERRORS[status], "content": {"application/json": {"schema": ref("Error")}}}


def ok(schema: dict, description: str = "OK") -> dict:
    """A JSON response."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def path_parameter(name: str, kind: str, description: str) -> dict:
    """A required path parameter."""
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": kind}}


ROUND_ID = path_parameter("round_id", "integer", "The round's id.")
SHEET_ID = path_parameter("sheet_id", "integer", "The sheet's id.")
JOB_ID = path_parameter("job_id", "integer", "The job's id.")
REF = path_parameter("ref", "string", "The record's ref.")


def operation(operation_id: str, tag: str, summary: str, schema: dict, *, status: str = "200",
              errors: tuple[str, ...] = ("401", "403"), parameters: tuple[dict, ...] = (),
              body: dict | None = None) -> dict:
    """One operation: its id (the name of the view serving it), its success and its error responses."""
    result: dict[str, Any] = {
        "summary": summary, "tags": [tag], "operationId": operation_id,
        "responses": {status: ok(schema), **{code: error(code) for code in errors}},
    }
    if parameters:
        result["parameters"] = list(parameters)
    if body is not None:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return result


RECORD_SCHEMAS = {"applications": "ApplicationRecord", "experts": "ExpertRecord"}


def import_operation(kind: str) -> dict:
    """POST a list of records: a job imports them all or nothing."""
    return operation(f"import_{kind}", kind, f"Import {kind} (a JSON list of records), all or nothing: answers "
                     "202 with the import job (its URL in Location); the job validates and imports, and shows "
                     "the refs imported or every error", ref("Job"), status="202",
                     errors=("400", "401", "403", "413", "422"), body=array(ref(RECORD_SCHEMAS[kind])))


ONE = ("401", "403", "404")
EVALUATION = {"type": "object", "description": "The evaluation's rows (annual: grades and indicators; triennial: "
              "annual results, scores, weights and outcomes)."}


def report_document_operation() -> dict:
    """POST the year's report document as multipart/form-data field ``document``."""
    result = operation("attach_report_document", "centers", "Attach the year's report document (运行发展报告)",
                       ref("Center"), errors=("400", *ONE, "422"), parameters=(CENTER_ID, YEAR))
    result["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": obj(
        {"document": STRING | {"format": "binary"}})}}}
    return result


CENTER_ID = path_parameter("center_id", "integer", "The center's id.")
YEAR = path_parameter("year", "integer", "The report year.")
CENTER_PATHS: dict[str, dict] = {
    "/centers": {"get": operation("list_centers", "centers", "Every center with status, targets and reports",
                                  array(ref("Center")))},
    "/centers/{center_id}": {"get": operation("get_center", "centers", "One center", ref("Center"), errors=ONE,
                                              parameters=(CENTER_ID,))},
    "/centers/{center_id}/reports/{year}": {
        "put": operation("save_center_report", "centers", "Store one year's indicators (all or nothing)",
                         ref("Center"), errors=("400", *ONE, "422"), parameters=(CENTER_ID, YEAR),
                         body=obj({"indicators": {"type": "object", "additionalProperties": NULLABLE_NUMBER}}))},
    "/centers/{center_id}/status": {
        "put": operation("set_center_status", "centers", "Change a center's status, with a reason", ref("Center"),
                         errors=("400", *ONE, "422"), parameters=(CENTER_ID,),
                         body=obj({"status": one_of(CENTER_STATUSES), "reason": NULLABLE_STRING},
                                  required=False) | {"required": ["status"]})},
    "/applications/{ref}/decision": {
        "put": operation("record_decision", "centers", "Record the decision on an application after selection",
                         ref("Decision"), errors=("400", *ONE, "422"), parameters=(REF,),
                         body=obj({"outcome": one_of(DECISION_OUTCOMES), "decided_on": STRING | {"format": "date"},
                                   "document_no": STRING, "reason": NULLABLE_STRING}, required=False)
                         | {"required": ["outcome", "decided_on", "document_no"]})},
    "/centers/{center_id}/targets": {
        "put": operation("set_center_targets", "centers", "Set the yearly targets by indicator (null removes one)",
                         ref("Center"), errors=("400", *ONE, "422"), parameters=(CENTER_ID,),
                         body=obj({"targets": {"type": "object", "additionalProperties": NULLABLE_NUMBER}}))},
    "/centers/{center_id}/reports/{year}/document": {
        "post": report_document_operation()},
    "/decisions": {"get": operation("list_decisions", "centers", "Every decision after selection, by application",
                                    array(ref("Decision")))},
    "/rounds/{round_id}/evaluation": {
        "get": operation("get_evaluation", "centers", "An annual round's ranking with grades and indicators, or a "
                         "triennial round's assessment under its stored weights", EVALUATION, errors=(*ONE, "422"),
                         parameters=(ROUND_ID,))},
    "/rounds/{round_id}/assessment-weights": {
        "put": operation("set_assessment_weights", "centers", "Store a triennial round's weights (each in [0, 1], "
                         "summing to 1)", EVALUATION, errors=("400", *ONE, "422"), parameters=(ROUND_ID,),
                         body=obj({"triennial": NUMBER, "annual": NUMBER}))},
    "/rounds/{round_id}/outcomes/{ref}": {
        "post": operation("apply_assessment_outcome", "centers", "Apply one center's triennial outcome as its "
                          "status (audited)", ref("Center"), errors=("400", *ONE, "422"),
                          parameters=(ROUND_ID, REF))},
}

PATHS: dict[str, dict] = {
    "/applications": {
        "get": operation("list_applications", "applications", "List applications",
                         array(ref("ApplicationSummary"))),
        "post": import_operation("applications")},
    "/applications/{ref}": {
        "get": operation("get_application", "applications",
                         "One application record (personal data masked unless admin)", ref("ApplicationRecord"),
                         errors=ONE, parameters=(REF,))},
    "/experts": {
        "get": operation("list_experts", "experts", "List experts", array(ref("ExpertSummary"))),
        "post": import_operation("experts")},
    "/experts/{ref}": {
        "get": operation("get_expert", "experts", "One expert record (contact data masked unless admin)",
                         ref("ExpertRecord"), errors=ONE, parameters=(REF,))},
    "/jobs/{job_id}": {
        "get": operation("get_job", "jobs", "A job's state and progress; at its end the result or the errors "
                         "(organizers: the jobs they asked for)", ref("Job"), errors=ONE, parameters=(JOB_ID,))},
    "/rounds": {
        "get": operation("list_rounds", "rounds", "List rounds with state and settings",
                         array(ref("Round")))},
    "/rounds/{round_id}": {
        "get": operation("get_round", "rounds", "One round: settings, quotas, template, applications",
                         ref("RoundDetail"), errors=ONE, parameters=(ROUND_ID,))},
    "/rounds/{round_id}/assignments": {
        "get": operation("get_assignments", "assignments",
                         "The active assignment version's panels and reserves", ref("Assignments"),
                         errors=ONE, parameters=(ROUND_ID,))},
    "/rounds/{round_id}/ranking": {
        "get": operation("get_ranking", "ranking", "The round's ranking from the scoring engine",
                         ref("Ranking"), errors=(*ONE, "422"), parameters=(ROUND_ID,))},
    "/rounds/{round_id}/sheets": {
        "get": operation("list_round_sheets", "sheets", "Every sheet of a round (organizers and admins)",
                         array(ref("Sheet")), errors=ONE, parameters=(ROUND_ID,))},
    "/sheets": {
        "get": operation("list_own_sheets", "sheets", "The calling expert's own sheets",
                         array(ref("Sheet")))},
    "/sheets/{sheet_id}": {
        "get": operation("get_sheet", "sheets", "One sheet (experts: only their own)", ref("Sheet"),
                         errors=ONE, parameters=(SHEET_ID,)),
        "put": operation("save_sheet", "sheets", "Save draft values of the expert's own sheet", ref("Sheet"),
                         errors=("400", *ONE, "409", "422"), parameters=(SHEET_ID,), body=ref("SheetDraft"))},
    "/sheets/{sheet_id}/submit": {
        "post": operation("submit_sheet", "sheets", "Submit and lock the expert's own sheet", ref("Sheet"),
                          errors=(*ONE, "409", "422"), parameters=(SHEET_ID,))},
    **CENTER_PATHS,
    "/openapi.json": {
        "get": {"summary": "This document", "tags": ["documentation"], "operationId": "openapi_document",
                "security": [], "responses": {"200": ok({"type": "object"})}}},
}


def document() -> dict:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Panel API", "version": "1",
                 "description": "Applications, experts, rounds, assignments, score sheets and rankings "
                                "of Panel. "
                                "Authenticate with `Authorization: Bearer <token>` (tokens are created at "
                                "/admin/tokens or with `panel tokens create`). Errors are "
                                "`{\"error\": ..., \"errors\": [...]}`."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name} for name in ("applications", "experts", "jobs", "rounds", "assignments", "sheets",
                                             "ranking", "centers", "documentation")],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "An API token."}}},
    }

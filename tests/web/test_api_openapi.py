"""The OpenAPI document describes every API route, is valid OpenAPI 3.1, and says what the responses hold."""

from __future__ import annotations

import json
import re

import pytest

from tests.web.test_route_matrix import World, world_fixture  # noqa: F401  (the world fixture)
from web.api.openapi import document

CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
UNDOCUMENTED = {"api.unknown_endpoint"}     # the JSON 404 for paths that are not endpoints
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def api_routes(app) -> set[tuple[str, str, str]]:
    """(OpenAPI path, method, endpoint) of every API rule."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint not in UNDOCUMENTED:
            path = CONVERTER.sub(r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes.update((path, method.lower(), rule.endpoint) for method in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def resolve(schema: dict, spec: dict) -> dict:
    """Follow a local $ref."""
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def problems(value, schema: dict, spec: dict, where: str = "$") -> list[str]:
    """Where ``value`` disagrees with ``schema`` (types, required and undocumented keys, items, enums)."""
    schema = resolve(schema, spec)
    if "allOf" in schema:
        merged = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolve(part, spec)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        schema = merged
    if "oneOf" in schema:
        found = [problems(value, option, spec, where) for option in schema["oneOf"]]
        return [] if any(not found_ for found_ in found) else found[0]
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    python = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
              "boolean": bool, "null": type(None)}
    if kinds and not any(isinstance(value, python[kind]) and not (kind in ("integer", "number")
                                                                   and isinstance(value, bool)) for kind in kinds):
        return [f"{where}: {type(value).__name__} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        found += [f"{where}.{key}: missing" for key in schema.get("required", []) if key not in value]
        if schema.get("additionalProperties", True) is not True or "required" in schema:
            found += [f"{where}.{key}: not documented" for key in value if key not in schema["properties"]]
        for key, item in value.items():
            if key in schema["properties"]:
                found += problems(item, schema["properties"][key], spec, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for number, item in enumerate(value):
            found += problems(item, schema["items"], spec, f"{where}[{number}]")
    return found


def test_every_api_route_is_documented_and_nothing_else(app):
    spec = document()
    documented = {(path, method) for path, item in spec["paths"].items()
                  for method in item if method in HTTP_METHODS}
    routes = api_routes(app)
    assert {(path, method) for path, method, _ in routes} == documented
    for path, method, endpoint in routes:
        assert spec["paths"][path][method]["operationId"] == endpoint.removeprefix("api.")


def test_the_document_is_well_formed_openapi_3_1():
    spec = document()
    assert spec["openapi"].startswith("3.1.") and spec["info"]["title"] and spec["info"]["version"]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API token."}
    assert spec["security"] == [{"bearerAuth": []}]
    operation_ids = []
    for path, item in spec["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert operation["summary"] and operation["responses"]
            assert any(status.startswith("2") for status in operation["responses"]), f"{method} {path}"
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status) and response["description"]
                for media in response.get("content", {}).values():
                    resolve(media["schema"], spec)       # every $ref resolves
            declared = {parameter["name"] for parameter in operation.get("parameters", [])
                        if parameter["in"] == "path" and parameter["required"]}
            assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path}"
            if method in ("put", "post") and "requestBody" in operation:
                for media in operation["requestBody"]["content"].values():      # JSON, or a file as multipart
                    resolve(media["schema"], spec)
    assert len(operation_ids) == len(set(operation_ids))


def test_the_document_passes_the_openapi_spec_validator():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document())


def test_the_document_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.get_json() == document()


@pytest.mark.parametrize(("account", "method", "path", "status"), [
    ("organizer", "GET", "/applications", "200"),
    ("organizer", "GET", "/applications/APP-001", "200"),
    ("organizer", "GET", "/experts", "200"),
    ("organizer", "GET", "/experts/EXP-A", "200"),
    ("admin", "GET", "/applications/APP-001", "200"),
    ("organizer", "GET", "/rounds", "200"),
    ("organizer", "GET", "/rounds/{round}", "200"),
    ("organizer", "GET", "/rounds/{round}/assignments", "200"),
    ("organizer", "GET", "/rounds/{round}/sheets", "200"),
    ("organizer", "GET", "/rounds/{round}/ranking", "200"),
    ("expert_a", "GET", "/sheets", "200"),
    ("expert_a", "GET", "/sheets/{sheet}", "200"),
    ("expert_a", "PUT", "/sheets/{sheet}", "422"),
    ("expert_a", "POST", "/sheets/{sheet}/submit", "422"),
    ("expert_a", "GET", "/applications", "403"),
    ("expert_b", "GET", "/sheets/{sheet}", "404"),
    ("admin", "GET", "/jobs/{job}", "200"),
    (None, "GET", "/rounds", "401"),
])
def test_responses_match_their_documented_schema(client, world, account, method, path, status):
    spec = document()
    concrete = path.format(round=world.round_id, sheet=world.sheets["expert_a"], job=world.job_id)
    headers = {"Authorization": f"Bearer {world.tokens[account]}"} if account else {}
    body = {"values": {"NO-SUCH": 1}} if method == "PUT" else None
    response = client.open(f"/api/v1{concrete}", method=method, headers=headers, json=body)
    assert str(response.status_code) == status
    template = (path.replace("{round}", "{round_id}").replace("{sheet}", "{sheet_id}").replace("{job}", "{job_id}")
                .replace("APP-001", "{ref}").replace("EXP-A", "{ref}"))
    documented = spec["paths"][template][method.lower()]["responses"][status]
    schema = documented["content"]["application/json"]["schema"]
    assert problems(response.get_json(), schema, spec) == []


def test_the_schema_check_notices_missing_undocumented_and_mistyped_keys():
    spec = document()
    error = {"$ref": "#/components/schemas/Error"}
    assert problems({"code": "refused", "error": "x", "errors": []}, error, spec) == []
    assert problems({"code": "refused", "error": "x"}, error, spec) == ["$.errors: missing"]
    assert problems({"code": "refused", "error": "x", "errors": [], "extra": 1}, error, spec) == [
        "$.extra: not documented"]
    assert problems({"code": "refused", "error": 1, "errors": [2]}, error, spec) == [
        "$.error: int is not ['string']", "$.errors[0]: int is not ['string']"]


def test_the_import_bodies_document_every_key_of_a_record(make_application_record, make_expert_record):
    """The record schemas come from web.records.schema: a complete record (as JSON) fits them exactly, and a
    misspelt key or a wrong code is caught."""
    spec = document()
    application = json.loads(json.dumps(make_application_record("APP-9"), default=str))
    expert = json.loads(json.dumps(make_expert_record("EXP-9"), default=str))
    assert problems(application, {"$ref": "#/components/schemas/ApplicationRecord"}, spec) == []
    assert problems(expert, {"$ref": "#/components/schemas/ExpertRecord"}, spec) == []
    expert["organisation"] = expert.pop("organization")
    expert["pool"] = "astrology"
    assert sorted(problems(expert, {"$ref": "#/components/schemas/ExpertRecord"}, spec)) == [
        "$.organisation: not documented",
        "$.pool: 'astrology' not in ['economics', 'technology', 'industry', 'management', 'law']"]

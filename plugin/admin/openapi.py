"""GET /api/admin/openapi.json: the OpenAPI 3.1 document of the admin API, built from the registry.

Nothing here is written by hand per route: paths, methods, path and query parameters, request
bodies and responses come from what each `api_route` declared, and the schemas are pydantic's
JSON Schema (draft 2020-12, which OpenAPI 3.1 uses as is) with every model under
components/schemas. The document itself is public: it describes, it holds no shop's data.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from plugin.admin.api import ApiOperation, api_route, registry
from plugin.admin.auth import CSRF_HEADER, SESSION_COOKIE
from plugin.admin.schemas import ErrorBody

REF = "#/components/schemas/{model}"
_PATH_TYPES = {"int": {"type": "integer", "minimum": 0}, "string": {"type": "string"}, "path": {"type": "string"},
               "float": {"type": "number"}, "uuid": {"type": "string", "format": "uuid"}}


class OpenApiDocument(BaseModel):
    """The OpenAPI 3.1 document (its shape is OpenAPI's own, not described here)."""

    openapi: str


def build_document(operations: list[ApiOperation] | None = None, *, server_url: str | None = None) -> dict:
    operations = list(registry.operations if operations is None else operations)
    models: list[type[BaseModel]] = [ErrorBody]
    for op in operations:
        for model in (op.body, op.response):
            if model is not None and model is not OpenApiDocument and model not in models:
                models.append(model)
    keyed = [(model, "validation" if any(op.body is model for op in operations) else "serialization")
             for model in models]
    refs, top = models_json_schema(keyed, ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict] = {}
    for op in operations:
        paths.setdefault(op.openapi_path, {})[op.method.lower()] = _operation(op, refs, schemas)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Backorder Desk admin API",
            "version": "1",
            "description": "The JSON API behind the merchant's embedded admin. Every call is scoped to the shop "
                           "of its credentials: a Shopify session token (App Bridge adds it to same-origin "
                           "fetches) or, for WooCommerce, the launch session cookie, which state-changing calls "
                           f"must pair with the {CSRF_HEADER} header.",
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "sessionToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                 "description": "Shopify App Bridge session token (HS256, aud = the app's client id)."},
                "launchSession": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                  "description": "WooCommerce launch session, set by /admin/launch/woocommerce."},
                "csrfToken": {"type": "apiKey", "in": "header", "name": CSRF_HEADER,
                              "description": "The launch session's CSRF token (meta csrf-token of the admin pages)."},
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def _operation(op: ApiOperation, refs: dict, schemas: dict) -> dict:
    error_ref = {"$ref": REF.format(model="ErrorBody")}
    out: dict[str, Any] = {"operationId": op.endpoint, "summary": op.summary, "tags": op.tags or ["admin"]}
    if op.description:
        out["description"] = op.description
    parameters = [{"name": name, "in": "path", "required": True, "schema": dict(_PATH_TYPES.get(conv, {"type": "string"}))}
                  for name, conv in op.path_params]
    if op.query is not None:
        parameters += _query_parameters(op.query, schemas)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[(op.body, "validation")]}}}
    ok: dict[str, Any] = {"description": "Success"}
    if op.response is OpenApiDocument:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    elif op.response is not None:
        mode = "validation" if (op.response, "validation") in refs else "serialization"
        ok["content"] = {"application/json": {"schema": refs[(op.response, mode)]}}
    responses: dict[str, Any] = {str(op.status): ok}
    errors = dict(op.errors)
    if op.authenticated:
        errors.setdefault(401, "No session, or a forged or expired one")
        if op.state_changing:
            errors.setdefault(403, f"A launch session without its {CSRF_HEADER}")
        out["security"] = ([{"sessionToken": []}, {"launchSession": [], "csrfToken": []}] if op.state_changing
                           else [{"sessionToken": []}, {"launchSession": []}])
    else:
        out["security"] = []
    if op.query is not None or op.body is not None:
        errors.setdefault(422, "The parameters or the body are not valid")
    for status, description in sorted(errors.items()):
        responses[str(status)] = {"description": description, "content": {"application/json": {"schema": error_ref}}}
    out["responses"] = responses
    return out


def _query_parameters(model: type[BaseModel], schemas: dict) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF)
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        if prop.get("type") == "array" or any(alt.get("type") == "array" for alt in prop.get("anyOf", [])):
            param["style"], param["explode"] = "form", True
        params.append(param)
    return params


@lru_cache(maxsize=4)
def _cached(server_url: str, count: int) -> dict:
    return build_document(server_url=server_url)


@api_route("GET", "/api/admin/openapi.json", summary="This document", response=OpenApiDocument,
           tags=["meta"], authenticated=False)
def api_openapi(_ctx) -> dict:
    from flask import current_app

    return _cached(current_app.extensions["backorder_desk"].settings.public_url, len(registry.operations))

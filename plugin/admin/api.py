"""The admin's JSON API: one decorator registers a route, verifies the caller, validates, describes.

    from plugin.admin.api import ApiError, api_route

    @api_route("POST", "/api/admin/backorders/<int:backorder_id>/eta", body=EtaOverrideIn,
               response=ActionResult, summary="Override a line's ETA", tags=["backorders"],
               errors={404: "No such line in this shop", 409: "The line is no longer open"})
    def override_eta(ctx: AdminContext, backorder_id: int, body: EtaOverrideIn) -> ActionResult:
        ...

* The caller is verified first (`auth.authenticate_api`): bearer session token or launch cookie;
  a state-changing method with the cookie also needs X-CSRF-Token. 401/403 JSON otherwise, and
  the handler never runs.
* `query` (a pydantic model) is read from the query string (list fields from repeated
  parameters), `body` from the JSON body; invalid input is 422 with pydantic's errors.
* The handler gets the context, the path parameters, and `query`/`body`, and returns a pydantic
  model (or a (model, status) pair); `ApiError(status, code, message)` answers an error.
* Everything given to the decorator is kept in `registry`, from which openapi.py builds the
  OpenAPI 3.1 document: what is registered is what is documented.

Responses are never cached (`Cache-Control: no-store`): they are one shop's data.
"""
from __future__ import annotations

import logging
import re
import typing
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

from flask import Response, jsonify, request
from pydantic import BaseModel, ValidationError

from plugin.admin.auth import AdminContext, api_error, authenticate_api

log = logging.getLogger(__name__)

API_PREFIX = "/api/admin"
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


class ApiError(Exception):
    """An answer other than success: status, a stable machine code, and a message for people."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


@dataclass
class ApiOperation:
    method: str
    rule: str                                  # Flask rule, e.g. /api/admin/backorders/<int:backorder_id>/eta
    endpoint: str
    summary: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: dict[int, str] = field(default_factory=dict)
    authenticated: bool = True

    @property
    def path_params(self) -> list[tuple[str, str]]:
        """(name, converter) of the rule's variables, in order."""
        return [(name, converter or "string") for converter, name in _CONVERTER.findall(self.rule)]

    @property
    def openapi_path(self) -> str:
        return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", self.rule)

    @property
    def state_changing(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


class ApiRegistry:
    def __init__(self):
        self.operations: list[ApiOperation] = []

    def add(self, operation: ApiOperation) -> None:
        if any(op.method == operation.method and op.rule == operation.rule for op in self.operations):
            raise ValueError(f"{operation.method} {operation.rule} is registered twice")
        self.operations.append(operation)


registry = ApiRegistry()


def api_route(method: str, rule: str, *, summary: str, description: str = "", tags: list[str] | None = None,
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200, errors: dict[int, str] | None = None,
              authenticated: bool = True) -> Callable:
    """Register an API route on the admin blueprint (see the module docstring)."""
    if not rule.startswith(API_PREFIX + "/") and rule != API_PREFIX:
        raise ValueError(f"admin API routes live under {API_PREFIX}/: {rule}")
    method = method.upper()

    def decorator(func: Callable) -> Callable:
        from plugin.admin.blueprint import bp

        operation = ApiOperation(method=method, rule=rule, endpoint=f"api_{func.__name__}", summary=summary,
                                 description=description or (func.__doc__ or "").strip(), tags=list(tags or []),
                                 query=query, body=body, response=response, status=status,
                                 errors=dict(errors or {}), authenticated=authenticated)
        registry.add(operation)

        @wraps(func)
        def view(**path: Any) -> Response:
            context = None
            if authenticated:
                context = authenticate_api(state_changing=operation.state_changing)
                if isinstance(context, Response):
                    return context
            try:
                kwargs = dict(path)
                if query is not None:
                    kwargs["query"] = query.model_validate(query_values(query))
                if body is not None:
                    payload = request.get_json(silent=True)
                    if payload is None:
                        raise ApiError(415 if not request.is_json else 400, "invalid_body",
                                       "Send a JSON object with Content-Type: application/json.")
                    kwargs["body"] = body.model_validate(payload)
                result = func(context, **kwargs)
            except ValidationError as exc:
                return api_error(422, "invalid_request", "The request is not valid.",
                                 details=_validation_details(exc))
            except ApiError as exc:
                return api_error(exc.status, exc.code, exc.message, details=exc.details)
            return _respond(result, status)

        bp.add_url_rule(rule, operation.endpoint, view, methods=[method])
        return func

    return decorator


def query_values(model: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if _is_list(info.annotation):
            items = [v for raw in request.args.getlist(key) for v in raw.split(",") if v != ""]
            if items:
                values[key] = items
        elif key in request.args and request.args[key] != "":
            values[key] = request.args[key]
    return values


def _is_list(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation)) if origin is not None else False


def _validation_details(exc: ValidationError) -> list[dict]:
    return [{"loc": [str(part) for part in error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()[:20]]


def _respond(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        result, status = result
    payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["AdminContext", "ApiError", "ApiOperation", "api_route", "registry"]

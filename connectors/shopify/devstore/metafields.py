"""`metafieldsSet` input rules, with the messages and codes real Shopify answers with.

Checked against captured Admin API answers (2025-01 and later): at most 25 inputs per call
("Exceeded the maximum metafields input limit of 25.", LESS_THAN_OR_EQUAL_TO on ["metafields"]);
namespace 3-255 and key 2-64 characters (TOO_SHORT / TOO_LONG, checked in that order); reserved
namespaces; `type` required without a definition (BLANK); value checks per type (INVALID_VALUE).
Shopify's docs say keys and namespaces are alphanumeric with `-` and `_`, but the live API
accepts other characters (`bad$key` was stored), so the fake accepts them too. The operation is
atomic: any user error and nothing is written.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

MAX_INPUTS = 25
RESERVED_NAMESPACES = frozenset({"shopify_standard", "protected", "shopify-l10n-fields"})
HEX_COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
KNOWN_TYPES = frozenset({
    "boolean", "color", "date", "date_time", "dimension", "id", "json", "link", "money",
    "multi_line_text_field", "number_decimal", "number_integer", "rating", "rich_text_field",
    "single_line_text_field", "url", "volume", "weight", "collection_reference", "customer_reference",
    "file_reference", "metaobject_reference", "mixed_reference", "page_reference", "product_reference",
    "variant_reference", "company_reference",
})


def app_namespace(api_client_id: int, namespace: str | None) -> str:
    """`$app` (or no namespace) is the app-reserved `app--<api client id>`; `$app:x` adds `--x`."""
    if namespace is None or namespace == "$app":
        return f"app--{api_client_id}"
    if namespace.startswith("$app:"):
        return f"app--{api_client_id}--{namespace[len('$app:'):]}"
    return namespace


def user_error(field: list[str] | None, message: str, code: str | None, element_index=None) -> dict:
    return {"field": field, "message": message, "code": code, "elementIndex": element_index}


def too_many(count: int) -> dict | None:
    if count > MAX_INPUTS:
        return user_error(["metafields"], f"Exceeded the maximum metafields input limit of {MAX_INPUTS}.",
                          "LESS_THAN_OR_EQUAL_TO")
    return None


def shape_error(index: int, namespace: str, key: str, type_: str | None, definition_type: str | None,
                api_client_id: int) -> dict | None:
    at = ["metafields", str(index)]
    if len(namespace) < 3:
        return user_error(at + ["namespace"], "Namespace is too short (minimum is 3 characters)", "TOO_SHORT")
    if len(key) < 2:
        return user_error(at + ["key"], "Key is too short (minimum is 2 characters)", "TOO_SHORT")
    if len(namespace) > 255:
        return user_error(at + ["namespace"], "Namespace is too long (maximum is 255 characters)", "TOO_LONG")
    if len(key) > 64:
        return user_error(at + ["key"], "Key is too long (maximum is 64 characters)", "TOO_LONG")
    if namespace in RESERVED_NAMESPACES:
        return user_error(at + ["namespace"], f"Namespace {namespace} is a reserved namespace", None)
    if namespace.startswith("app--") and namespace.split("--")[1] != str(api_client_id):
        return user_error(at, "Access to this namespace and key on Metafields for this resource type is not allowed.",
                          "APP_NOT_AUTHORIZED")
    if type_ is None and definition_type is None:
        return user_error(at + ["type"], "Type can't be blank", "BLANK")
    if type_ is not None and definition_type is not None and type_ != definition_type:
        return user_error(at + ["type"], f"Type must be {definition_type} to match the definition.", "INVALID_TYPE")
    effective = type_ or definition_type
    base = effective[len("list."):] if effective.startswith("list.") else effective
    if base not in KNOWN_TYPES:
        return user_error(at + ["type"], f"Type '{effective}' is not a valid metafield type.", "INVALID_TYPE")
    return None


def value_error(index: int, type_: str, value: str) -> dict | None:
    message = _value_message(type_, value)
    return user_error(["metafields", str(index), "value"], message, "INVALID_VALUE") if message else None


def _value_message(type_: str, value: str) -> str | None:
    if type_.startswith("list."):
        try:
            items = json.loads(value)
        except ValueError:
            return "Value must be a JSON array."
        if not isinstance(items, list):
            return "Value must be a JSON array."
        if len(items) > 128:
            return "Value has more than 128 elements."
        for item in items:
            message = _value_message(type_[len("list."):], item if isinstance(item, str) else json.dumps(item))
            if message:
                return message
        return None
    if type_ == "json":
        try:
            json.loads(value)
        except ValueError as exc:
            return f"Value is invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        return None
    if type_ == "number_integer":
        return None if re.fullmatch(r"-?\d+", value.strip()) else "Value must be an integer."
    if type_ == "number_decimal":
        try:
            Decimal(value)
        except InvalidOperation:
            return "Value must be a decimal."
        return None
    if type_ == "boolean":
        return None if value in ("true", "false") else "Value must be true or false."
    if type_ == "color":
        return None if HEX_COLOR_RE.match(value) else "Value must be a hex color code."
    if type_ == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "Value must be in YYYY-MM-DD format."
        return None
    if type_ == "date_time":
        ok = DATE_TIME_RE.match(value)
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            ok = None
        return None if ok else "Value must be in “YYYY-MM-DDTHH:MM:SS” format. For example: 2022-06-01T15:30:00"
    if type_ == "single_line_text_field" and ("\n" in value or "\r" in value):
        return "Value must be a single line text string."
    return None

"""What the admin's own forms share: field errors in the merchant's language, paging, masking.

Pages validate a posted form with the same pydantic model as the JSON API; `field_errors` turns
pydantic's errors into one message per field, in English or Polish, shown next to the field
(`_forms.html: field_error`) and linked from the summary at the top of the form. Validators of
our own raise `PydanticCustomError(code, english)`, and `form.error.<code>` in the catalogue
says it to the merchant.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from plugin.admin.i18n import MESSAGES, translate

_TYPE_KEYS = {
    "missing": "form.error.required",
    "string_too_short": "form.error.required",
    "string_too_long": "form.error.too_long",
    "int_parsing": "form.error.number",
    "int_type": "form.error.number",
    "int_from_float": "form.error.number",
    "float_parsing": "form.error.number",
    "float_type": "form.error.number",
    "greater_than_equal": "form.error.min",
    "greater_than": "form.error.min",
    "less_than_equal": "form.error.max",
    "less_than": "form.error.max",
    "date_parsing": "form.error.date",
    "date_from_datetime_parsing": "form.error.date",
    "date_type": "form.error.date",
    "literal_error": "form.error.choice",
    "enum": "form.error.choice",
    "bool_parsing": "form.error.choice",
    "extra_forbidden": "form.error.unknown_field",
}


def custom_error(code: str, message: str, **values) -> PydanticCustomError:
    """A validator's error whose text the catalogue has as `form.error.<code>` ({name} values).
    A model validator passes `field=` to have its error shown next to that field."""
    return PydanticCustomError(code, message, values or None)


def field_errors(exc: ValidationError, locale: str) -> dict[str, str]:
    """{field name: message} (the first error of each field; "" for errors of the whole form)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        # A model validator's error names its field in ctx["field"] (see custom_error).
        name = ".".join(loc) or str((error.get("ctx") or {}).get("field", ""))
        if name in errors:
            continue
        errors[name] = error_text(error, locale)
    return errors


def error_text(error: dict, locale: str) -> str:
    kind = error.get("type", "")
    ctx = dict(error.get("ctx") or {})
    key = f"form.error.{kind}"
    if key not in MESSAGES["en"]:
        key = _TYPE_KEYS.get(kind, "")
    if not key:
        return str(error.get("msg", "")).removeprefix("Value error, ")
    values = {name: value for name, value in ctx.items() if isinstance(value, (str, int, float))}
    for bound in ("ge", "gt"):
        if bound in ctx:
            values["min"] = ctx[bound]
    for bound in ("le", "lt"):
        if bound in ctx:
            values["max"] = ctx[bound]
    if "max_length" in ctx:
        values["max"] = ctx["max_length"]
    if "expected" in ctx:
        values["expected"] = ctx["expected"]
    return translate(locale, key, **values)


def validate_form(model: type[BaseModel], data: dict, locale: str) -> tuple[BaseModel | None, dict[str, str]]:
    """(the model, {}) or (None, field errors)."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, field_errors(exc, locale)


def form_text(name: str) -> str | None:
    """A posted text field, stripped; None when empty or absent."""
    value = (request.form.get(name) or "").strip()
    return value or None


def form_checked(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


# -- paging ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_number(raw: str | None, default: int = 1, maximum: int = 100_000) -> int:
    try:
        value = int(raw or default)
    except ValueError:
        return default
    return min(max(value, 1), maximum)


# -- personal data shown in lists --------------------------------------------------------------
def mask_email(address: str | None) -> str | None:
    """"jon.snow@example.com" -> "jo•••@example.com": enough to recognise, not to copy."""
    if not address:
        return None
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return address[:1] + "•••"
    keep = 2 if len(local) >= 6 else 1
    return f"{local[:keep]}•••@{domain}"

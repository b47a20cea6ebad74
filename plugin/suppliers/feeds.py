"""Supplier feeds read into rows, and each row validated on its own.

A feed is CSV (from a URL or an upload), JSON (from a URL) or rows typed into the admin. Reading
is forgiving about the file and strict about the values:

* CSV: UTF-8 with or without a BOM (UTF-16 with a BOM and Windows-1252 are read too), any line
  endings, `,` `;` or tab as delimiter (sniffed from the header line), header names matched
  case-insensitively through `COLUMN_ALIASES` ("Qty", "PO Number", "ETA"...). The first line
  must be the header; a header lacking a required column fails the whole feed, naming it.
* JSON: a list of objects, or `{"lines": [...]}`; keys go through the same aliases.
* Line numbers are what a merchant sees in a text editor: the CSV header is line 1. For JSON and
  typed rows, "line" is the 1-based position of the object in the list.
* Dates: ISO (2026-12-01, or a timestamp whose date part is taken) or day-first (01/12/2026,
  01.12.2026, 01-12-2026). A slashed date is ALWAYS read day-first: 03/04/2026 is 3 April, and
  12/31/2026 is an error, never silently month-first. Years have four digits. A date before 2000
  or more than `MAX_DAYS_AHEAD` days ahead is an error (a typo, not a plan).
* Quantities are whole numbers from 0 to `MAX_QUANTITY` ("12" or "12.0"; "1,000" is refused
  rather than guessed). Lead days (0..`MAX_DAYS_AHEAD`) stand in for an expected date; when both
  are given the date wins.
* Status: ordered / shipped / received / cancelled (with a few synonyms, see `STATUS_ALIASES`);
  blank means ordered. An ordered or shipped row needs an expected date or lead days.

Validation never stops at the first bad row: every row becomes a `FeedRow` or a `RowError` with
its line and reason, so good rows can apply while bad ones are reported.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

SupplyStatus = Literal["ordered", "shipped", "received", "cancelled"]

MAX_ROWS = 100_000
MAX_QUANTITY = 10_000_000
MAX_DAYS_AHEAD = 730
MAX_TEXT = 255
EARLIEST_DATE = date(2000, 1, 1)

REQUIRED_COLUMNS = ("sku", "quantity", "po_reference")
DATE_COLUMNS = ("expected_date", "lead_days")  # at least one of them
OPTIONAL_COLUMNS = ("status", "tracking", "received_date")
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "item", "item_sku", "item_code", "product_sku", "variant_sku", "article"),
    "quantity": ("quantity", "qty", "units", "qty_ordered", "quantity_ordered"),
    "expected_date": ("expected_date", "eta", "expected", "expected_arrival", "arrival_date", "due_date",
                      "delivery_date"),
    "lead_days": ("lead_days", "lead_time", "lead_time_days", "leadtime"),
    "po_reference": ("po_reference", "po", "po_number", "po_no", "po_ref", "purchase_order",
                     "purchase_order_number"),
    "status": ("status", "state", "po_status", "line_status"),
    "tracking": ("tracking", "tracking_number", "tracking_no", "tracking_code"),
    "received_date": ("received_date", "date_received", "received_on", "received_at"),
}
_ALIAS_TO_COLUMN = {alias: column for column, aliases in COLUMN_ALIASES.items() for alias in aliases}

STATUS_ALIASES: dict[str, str] = {
    "": "ordered", "ordered": "ordered", "open": "ordered", "placed": "ordered", "confirmed": "ordered",
    "pending": "ordered", "backordered": "ordered",
    "shipped": "shipped", "in_transit": "shipped", "dispatched": "shipped", "sent": "shipped",
    "received": "received", "delivered": "received", "arrived": "received",
    "cancelled": "cancelled", "canceled": "cancelled", "void": "cancelled", "voided": "cancelled",
}
DATE_HINT = "use YYYY-MM-DD or day-first DD/MM/YYYY"
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
_YMD_SLASH_RE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_DAY_FIRST_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_INT_RE = re.compile(r"^[+-]?\d+(?:\.0*)?$")


class FeedError(ValueError):
    """The feed as a whole cannot be read (not CSV/JSON, wrong header...): nothing is applied."""


@dataclass(frozen=True)
class RawRow:
    """One row as read, before validation: canonical column -> raw value."""

    line: int
    values: dict[str, Any]
    missing: tuple[str, ...] = ()  # columns the header has but this (short) row lacks
    problem: str | None = None     # a defect of the row's shape (too many fields, not an object)


@dataclass
class ParsedFeed:
    format: Literal["csv", "json", "manual"]
    rows: list[RawRow]
    columns: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    delimiter: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


def normalize_header(name: str) -> str:
    """'PO Number ' -> 'po_number', 'Qty.' -> 'qty', '\ufeffSKU' -> 'sku'."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).replace("\ufeff", "").strip().lower()).strip("_")


def canonical_column(name: str) -> str | None:
    return _ALIAS_TO_COLUMN.get(normalize_header(name))


# -- reading -------------------------------------------------------------------------------------
def decode_text(data: bytes) -> str:
    """UTF-8 (BOM stripped), UTF-16 with a BOM, else Windows-1252: what spreadsheets export."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise FeedError("the file is binary, not a CSV text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def sniff_delimiter(header_line: str) -> str:
    """The candidate (`,` `;` tab) that splits the header line most; `,` on a tie."""
    counts = {delim: 0 for delim in (",", ";", "\t")}
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts.values())
    return "," if best == 0 or counts[","] == best else max(counts, key=counts.get)


def _map_header(names: Iterable[str]) -> tuple[dict[int, str], tuple[str, ...]]:
    """Header cells -> {index: canonical column}, and the names that mean nothing to us."""
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    ignored: list[str] = []
    for index, raw in enumerate(names):
        column = canonical_column(raw)
        if column is None:
            if str(raw).strip():
                ignored.append(str(raw).strip())
            continue
        if column in seen:
            raise FeedError(f"columns {seen[column]!r} and {str(raw).strip()!r} both mean {column!r}; keep one")
        seen[column] = str(raw).strip()
        mapping[index] = column
    return mapping, tuple(ignored)


def _check_columns(present: Iterable[str], found: Iterable[str]) -> None:
    present = set(present)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if not any(c in present for c in DATE_COLUMNS):
        missing.append("expected_date (or lead_days)")
    if missing:
        shown = ", ".join(repr(str(f).strip()) for f in found if str(f).strip()) or "nothing"
        raise FeedError(
            f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            f"The first line must be a header such as sku,quantity,expected_date,po_reference,status "
            f"(found {shown})")


def parse_csv(data: bytes) -> ParsedFeed:
    text = decode_text(data)
    first_line = next((ln for ln in text.splitlines() if ln.strip()), None)
    if first_line is None:
        raise FeedError("the file is empty: expected a header line and rows")
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    mapping: dict[int, str] | None = None
    ignored: tuple[str, ...] = ()
    width = 0
    rows: list[RawRow] = []
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if mapping is None:
                mapping, ignored = _map_header(cells)
                _check_columns(mapping.values(), cells)
                width = len(cells)
                continue
            if len(rows) >= MAX_ROWS:
                raise FeedError(f"the feed has more than {MAX_ROWS} rows; split it")
            values = {column: cells[index] for index, column in mapping.items() if index < len(cells)}
            # A short row: trailing optional columns left off count as blank, required ones are missing.
            missing = tuple(column for index, column in mapping.items()
                            if index >= len(cells) and column not in OPTIONAL_COLUMNS)
            problem = None
            if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                problem = (f"the row has {len(cells)} fields but the header has {width} "
                           f"(a {_delimiter_name(delimiter)} inside a value must be quoted)")
            rows.append(RawRow(start, values, missing, problem))
    except csv.Error as exc:
        raise FeedError(f"line {reader.line_num}: the CSV cannot be read ({exc})") from None
    return ParsedFeed("csv", rows, tuple(dict.fromkeys(mapping.values())), ignored, delimiter)


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]


def parse_json(data: bytes | str | list | dict) -> ParsedFeed:
    if isinstance(data, (bytes, bytearray)):
        try:
            data = json.loads(decode_text(bytes(data)))
        except ValueError as exc:
            raise FeedError(f"the feed is not valid JSON ({exc})") from None
    elif isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise FeedError(f"the feed is not valid JSON ({exc})") from None
    if isinstance(data, dict):
        if not isinstance(data.get("lines"), list):
            raise FeedError('a JSON feed must be a list of lines or an object {"lines": [...]}')
        data = data["lines"]
    if not isinstance(data, list):
        raise FeedError('a JSON feed must be a list of lines or an object {"lines": [...]}')
    return records_feed(data, "json")


def records_feed(items: list, kind: Literal["json", "manual"] = "manual") -> ParsedFeed:
    """Objects (JSON items, typed rows) as rows; their position in the list is their line."""
    if len(items) > MAX_ROWS:
        raise FeedError(f"the feed has more than {MAX_ROWS} rows; split it")
    rows: list[RawRow] = []
    ignored: dict[str, None] = {}
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            rows.append(RawRow(position, {}, problem=f"expected an object with sku, quantity..., got {type(item).__name__}"))
            continue
        values: dict[str, Any] = {}
        problem = None
        for key, value in item.items():
            column = canonical_column(key)
            if column is None:
                ignored[str(key)] = None
            elif column in values:
                problem = f"two keys mean {column!r}"
            else:
                values[column] = value
        # A date is needed only by ordered/shipped rows; FeedRow says so when it is absent.
        missing = tuple(c for c in REQUIRED_COLUMNS if c not in values)
        rows.append(RawRow(position, values, missing, problem))
    return ParsedFeed(kind, rows, tuple(COLUMN_ALIASES), tuple(ignored))


def parse_feed(data: bytes, feed_format: str | None = None) -> ParsedFeed:
    """CSV or JSON by the declared format, else by the first meaningful character."""
    if feed_format == "json":
        return parse_json(data)
    if feed_format == "csv":
        return parse_csv(data)
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return parse_json(data) if head[:1] in (b"[", b"{") else parse_csv(data)


# -- values ------------------------------------------------------------------------------------
def parse_date(value: Any, today: date, what: str = "date") -> date:
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, str):
        text = value.strip()
        found = _date_from_text(text, what)
    else:
        raise ValueError(f"{what} {value!r} is not a date ({DATE_HINT})")
    if found < EARLIEST_DATE:
        raise ValueError(f"{what} {found.isoformat()} is before 2000")
    if found > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValueError(f"{what} {found.isoformat()} is more than {MAX_DAYS_AHEAD} days ahead")
    return found


def _date_from_text(text: str, what: str) -> date:
    for pattern, order in ((_ISO_RE, "ymd"), (_YMD_SLASH_RE, "ymd"), (_DAY_FIRST_RE, "dmy")):
        match = pattern.match(text)
        if match:
            a, b, c = (int(g) for g in match.groups()[:3])
            year, month, day = (a, b, c) if order == "ymd" else (c, b, a)
            try:
                return date(year, month, day)
            except ValueError:
                note = " (dates are read day-first)" if order == "dmy" else ""
                raise ValueError(f"{what} {text!r} is not a real date{note}") from None
    raise ValueError(f"{what} {text!r} is not a date ({DATE_HINT})")


def parse_whole(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"{what} {value!r} is not a whole number")
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text.split(".")[0])
        if re.match(r"^[+-]?\d+[.,]\d+$", text):
            raise ValueError(f"{what} {text!r} is not a whole number")
        raise ValueError(f"{what} {text!r} is not a number")
    raise ValueError(f"{what} {value!r} is not a number")


def _text(value: Any, what: str, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{what} is empty")
        return None
    if isinstance(value, (dict, list, bool)):
        raise ValueError(f"{what} must be text")
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    return text


class FeedRow(BaseModel):
    """A valid row: what the sync applies. `sku` is the shop's spelling once resolved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    sku: str
    quantity: int
    expected_date: date | None = None
    lead_days: int | None = None
    po_reference: str
    status: SupplyStatus = "ordered"
    tracking: str | None = None
    received_date: date | None = None

    @field_validator("sku", "po_reference", mode="before")
    @classmethod
    def _required_text(cls, value, info):
        return _text(value, info.field_name, required=True)

    @field_validator("tracking", mode="before")
    @classmethod
    def _optional_text(cls, value, info):
        return _text(value, info.field_name, required=False)

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("quantity is empty")
        number = parse_whole(value, "quantity")
        if number < 0:
            raise ValueError(f"quantity {number} is negative")
        if number > MAX_QUANTITY:
            raise ValueError(f"quantity {number} is more than {MAX_QUANTITY}")
        return number

    @field_validator("lead_days", mode="before")
    @classmethod
    def _lead_days(cls, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        days = parse_whole(value, "lead_days")
        if not 0 <= days <= MAX_DAYS_AHEAD:
            raise ValueError(f"lead_days {days} is not between 0 and {MAX_DAYS_AHEAD}")
        return days

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value):
        key = normalize_header(value) if isinstance(value, str) else value
        if value is None:
            key = ""
        if key not in STATUS_ALIASES:
            raise ValueError(f"status {value!r} is not one of ordered, shipped, received, cancelled")
        return STATUS_ALIASES[key]

    @model_validator(mode="after")
    def _needs_a_date(self):
        if self.status in ("ordered", "shipped") and self.expected_date is None and self.lead_days is None:
            raise ValueError("expected_date (or lead_days) is required for an ordered or shipped line")
        return self


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = f"{error['loc'][0]} is missing"
        parts.append(message)
    return "; ".join(dict.fromkeys(parts))


def validate_rows(
    feed: ParsedFeed,
    *,
    today: date,
    resolve_sku: Callable[[str], str | None] | None = None,
) -> tuple[list[FeedRow], list[RowError]]:
    """Every row either valid or rejected with its line and reason.

    `resolve_sku(sku)` returns the shop's spelling of a known SKU, or None for an unknown one
    (None as the function itself: every SKU is accepted). The second row with the same
    (po_reference, sku) as an earlier valid row is rejected, naming both lines.
    """
    good: list[FeedRow] = []
    bad: list[RowError] = []
    first_line: dict[tuple[str, str], int] = {}
    for raw in feed.rows:
        if raw.problem:
            bad.append(RowError(raw.line, raw.problem))
            continue
        if raw.missing:
            names = ", ".join(repr(m) for m in raw.missing)
            bad.append(RowError(raw.line, f"missing column{'s' if len(raw.missing) > 1 else ''} {names}"))
            continue
        values = dict(raw.values)
        date_errors: list[str] = []
        for column in ("expected_date", "received_date"):
            value = values.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                values[column] = None
                continue
            try:
                values[column] = parse_date(value, today, column)
            except ValueError as exc:
                values[column] = None
                date_errors.append(str(exc))
        try:
            row = FeedRow(line=raw.line, **values)
        except ValidationError as exc:
            reason = _reason(exc)
            if date_errors:  # the date's own message beats "a date is required"
                reason = "; ".join(date_errors + [p for p in reason.split("; ") if "is required" not in p])
            bad.append(RowError(raw.line, reason))
            continue
        if date_errors:
            bad.append(RowError(raw.line, "; ".join(date_errors)))
            continue
        if resolve_sku is not None:
            known = resolve_sku(row.sku)
            if known is None:
                bad.append(RowError(raw.line, f"unknown SKU {row.sku!r}: not a variant of the shop nor in "
                                              f"this supplier's SKU list"))
                continue
            if known != row.sku:
                row = row.model_copy(update={"sku": known})
        key = (row.po_reference, row.sku)
        if key in first_line:
            bad.append(RowError(raw.line, f"duplicate PO line: PO {row.po_reference!r} SKU {row.sku!r} is "
                                          f"already on line {first_line[key]}; line {raw.line} is ignored"))
            continue
        first_line[key] = raw.line
        good.append(row)
    return good, bad

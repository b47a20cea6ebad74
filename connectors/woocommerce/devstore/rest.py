"""The WordPress REST server around WooCommerce's routes (WP_REST_Server::serve_request).

Order of checks, as WordPress runs them: authentication (a failed attempt is answered at once,
401), the JSON body (400 rest_invalid_json), the route (404 rest_no_route, also for a known path
with a method it does not take), the API key's read/write permission (401), parameter
validation (400 rest_invalid_param), the endpoint's permission callback (401 for a request
without credentials), then the endpoint. Parameters resolve JSON body > form body > query >
URL, so a body's "id" wins over the id in the path, as in WordPress.

Collections answer X-WP-Total and X-WP-TotalPages, and `Link: <url>; rel="prev"` /
`rel="next"` as separate headers; the URL repeats every query parameter of the request (OAuth
ones included) as add_query_arg writes them, unencoded, with `page` replaced. A page past the
end is an empty list, not an error.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from .errors import RestError, cannot, invalid_params, no_route
from .php import add_query_arg, php_list

REST_PREFIX = "/wp-json"
NAMESPACE = "wc/v3"
REST_DATE = re.compile(r"^(\d{4})-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):([0-5][0-9]):"
                       r"([0-5][0-9]|60)(\.[0-9]+)?(([Zz])|([+\-]([01][0-9]|2[0-3]):[0-5][0-9]))?$")
EDITABLE = ("POST", "PUT", "PATCH")


def sprintf_l(values) -> str:
    """wp_sprintf_l's %l: "a and b", "a, b, and c"."""
    values = [str(v) for v in values]
    if len(values) <= 1:
        return "".join(values)
    if len(values) == 2:
        return f"{values[0]} and {values[1]}"
    return ", ".join(values[:-1]) + ", and " + values[-1]


@dataclass
class Param:
    type: str = "string"  # integer | boolean | string | array | date-time | object
    default: object = None
    enum: tuple | None = None
    minimum: int | None = None
    maximum: int | None = None
    items_enum: tuple | None = None
    items_type: str | None = None


def is_integer(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    try:
        number = float(str(value).strip())
    except ValueError:
        return False
    return number == round(number)


def to_bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    return None


def parse_rest_date(value: str, site_timezone: str) -> datetime | None:
    """rest_parse_date + how WP_Date_Query reads it: no offset means the site's timezone."""
    if not isinstance(value, str) or not REST_DATE.match(value):
        return None
    text = value.replace("z", "Z").replace("t", "T").replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(site_timezone))
    return moment


def validate(params: dict[str, Param], values: dict, site_timezone: str) -> dict:
    """rest_validate_request_arg + sanitize: the values the endpoint sees, or rest_invalid_param."""
    problems: dict[str, tuple[str, str]] = {}
    clean: dict = {}
    for name, spec in params.items():
        if name not in values or values[name] is None:
            clean[name] = spec.default
            continue
        value = php_list(values[name])
        if spec.type == "integer":
            if not is_integer(value):
                problems[name] = ("rest_invalid_type", f"{name} is not of type integer.")
                continue
            value = int(float(str(value)))
            if spec.minimum is not None and spec.maximum is not None and not spec.minimum <= value <= spec.maximum:
                problems[name] = ("rest_out_of_bounds",
                                  f"{name} must be between {spec.minimum} (inclusive) and {spec.maximum} (inclusive)")
                continue
            if spec.minimum is not None and spec.maximum is None and value < spec.minimum:
                problems[name] = ("rest_out_of_bounds", f"{name} must be greater than or equal to {spec.minimum}")
                continue
        elif spec.type == "boolean":
            parsed = to_bool(value)
            if parsed is None:
                problems[name] = ("rest_invalid_type", f"{name} is not of type boolean.")
                continue
            value = parsed
        elif spec.type == "date-time":
            if parse_rest_date(value, site_timezone) is None:
                problems[name] = ("rest_invalid_date", "Invalid date.")
                continue
        elif spec.type == "array":
            items = value if isinstance(value, list) else [v for v in re.split(r"[\s,]+", str(value)) if v != ""]
            if spec.items_type == "integer":
                bad = next((i for i, item in enumerate(items) if not is_integer(item)), None)
                if bad is not None:
                    problems[name] = ("rest_invalid_type", f"{name}[{bad}] is not of type integer.")
                    continue
                items = [int(float(str(item))) for item in items]
            if spec.items_enum is not None:
                bad = next((i for i, item in enumerate(items) if item not in spec.items_enum), None)
                if bad is not None:
                    problems[name] = ("rest_not_in_enum", f"{name}[{bad}] is not one of {sprintf_l(spec.items_enum)}.")
                    continue
            value = items
        elif spec.type == "string":
            if isinstance(value, (dict, list)):
                problems[name] = ("rest_invalid_type", f"{name} is not of type string.")
                continue
            value = str(value)
        if spec.enum is not None and value not in spec.enum:
            problems[name] = ("rest_not_in_enum", f"{name} is not one of {sprintf_l(spec.enum)}.")
            continue
        clean[name] = value
    if problems:
        raise invalid_params(problems)
    return clean


def collection_params(orderby: tuple, *, status: Param | None = None, extra: dict | None = None) -> dict[str, Param]:
    params = {
        "context": Param(enum=("view", "edit"), default="view"),
        "page": Param("integer", 1, minimum=1),
        "per_page": Param("integer", 10, minimum=1, maximum=100),
        "search": Param(),
        "after": Param("date-time"), "before": Param("date-time"),
        "modified_after": Param("date-time"), "modified_before": Param("date-time"),
        "dates_are_gmt": Param("boolean", False),
        "exclude": Param("array", [], items_type="integer"),
        "include": Param("array", [], items_type="integer"),
        "offset": Param("integer"),
        "order": Param(enum=("asc", "desc"), default="desc"),
        "orderby": Param(enum=orderby, default="date"),
        "parent": Param("array", [], items_type="integer"),
        "parent_exclude": Param("array", [], items_type="integer"),
        "_fields": Param(),
    }
    if status is not None:
        params["status"] = status
    params.update(extra or {})
    return params


@dataclass
class Req:
    """One REST request as the endpoint sees it."""
    method: str
    route: str  # "/wc/v3/products/12"
    query: dict  # $_GET as PHP parsed it (OAuth parameters included)
    json: dict | list | None
    form: dict
    url_params: dict = field(default_factory=dict)
    key: object | None = None
    clean: dict = field(default_factory=dict)

    def param(self, name: str, default=None):
        for source in (self.json if isinstance(self.json, dict) else {}, self.form, self.query, self.url_params):
            if name in source:
                return source[name]
        return default

    def has(self, name: str) -> bool:
        return any(name in s for s in (self.json if isinstance(self.json, dict) else {}, self.form, self.query,
                                      self.url_params))

    def body(self) -> dict:
        merged = {**self.url_params, **self.query, **self.form}
        if isinstance(self.json, dict):
            merged.update(self.json)
        return merged

    @property
    def authenticated(self) -> bool:
        return self.key is not None


@dataclass
class Answer:
    data: object
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Route:
    pattern: re.Pattern
    methods: dict[str, Callable[[Req], Answer]]


class Router:
    def __init__(self):
        self.routes: list[Route] = []

    def add(self, path: str, **methods: Callable[[Req], Answer]) -> None:
        regex = re.compile("^/" + NAMESPACE + ("/" + path if path else "") + "/?$")
        expanded: dict[str, Callable] = {}
        for verbs, handler in methods.items():
            for verb in verbs.split("_"):
                expanded[verb.upper()] = handler
        self.routes.append(Route(regex, expanded))

    def match(self, method: str, route: str) -> tuple[Callable[[Req], Answer], dict] | None:
        for candidate in self.routes:
            found = candidate.pattern.match(route)
            if found and method in candidate.methods:
                return candidate.methods[method], found.groupdict()
        return None


def require_auth(req: Req, action: str) -> None:
    if not req.authenticated:
        raise cannot(action)


def paginate(req: Req, items: list, home_url: str, path: str) -> Answer:
    """WC_REST_CRUD_Controller::get_items' headers around one page of `items` (already filtered)."""
    per_page = req.clean.get("per_page") or 10
    page = req.clean.get("page") or 1
    offset = req.clean.get("offset")
    start = offset if offset is not None else (page - 1) * per_page
    total = len(items)
    max_pages = math.ceil(total / per_page) if per_page else 1
    answer = Answer(items[start:start + per_page])
    answer.headers += [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(max_pages))]
    base = add_query_arg(f"{home_url}{REST_PREFIX}/{NAMESPACE}/{path}", req.query) if req.query else \
        f"{home_url}{REST_PREFIX}/{NAMESPACE}/{path}"
    if page > 1:
        answer.headers.append(("Link", f'<{add_query_arg(base, {"page": min(page - 1, max_pages)})}>; rel="prev"'))
    if max_pages > page:
        answer.headers.append(("Link", f'<{add_query_arg(base, {"page": page + 1})}>; rel="next"'))
    return answer


def date_filtered(items: list, clean: dict, site_timezone: str, created, modified) -> list:
    """after/before on the creation date, modified_after/modified_before on the modification date,
    strictly, to the second, against the local or (dates_are_gmt) the GMT column."""
    tests = []
    use_gmt = bool(clean.get("dates_are_gmt"))
    zone = ZoneInfo(site_timezone)

    def column(moment: datetime) -> datetime:
        return (moment.astimezone(timezone.utc) if use_gmt else moment.astimezone(zone)).replace(tzinfo=None)

    for name, getter, after in (("after", created, True), ("before", created, False),
                                ("modified_after", modified, True), ("modified_before", modified, False)):
        if clean.get(name):
            bound = parse_rest_date(clean[name], site_timezone).astimezone(zone).replace(tzinfo=None)
            tests.append((getter, bound, after))
    if not tests:
        return items
    return [item for item in items
            if all((column(get(item)) > bound) if after else (column(get(item)) < bound) for get, bound, after in tests)]


def sort_items(items: list, clean: dict, keys: dict[str, Callable]) -> list:
    orderby = clean.get("orderby") or "date"
    reverse = (clean.get("order") or "desc") == "desc"
    if orderby == "include" and clean.get("include"):
        position = {value: index for index, value in enumerate(clean["include"])}
        return sorted(items, key=lambda item: position.get(item.id, len(position)))
    key = keys.get(orderby, keys["id"])
    return sorted(items, key=key, reverse=reverse)


def select_fields(data, fields: str | None):
    """`_fields=id,name,meta_data.key`: keep only those (id is always kept)."""
    if not fields:
        return data
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    if isinstance(data, list):
        return [select_fields(item, fields) for item in data]
    if not isinstance(data, dict):
        return data
    wanted_top = {f.split(".", 1)[0] for f in wanted} | ({"id"} if "id" in data else set())
    result = {}
    for key, value in data.items():
        if key not in wanted_top:
            continue
        nested = [f.split(".", 1)[1] for f in wanted if f.startswith(key + ".")]
        if nested and key not in wanted and isinstance(value, (dict, list)):
            value = select_fields(value, ",".join(nested)) if isinstance(value, dict) else \
                [select_fields(v, ",".join(nested)) for v in value]
        result[key] = value
    return result


def parse_json_body(raw: bytes, content_type: str):
    if "json" not in content_type.lower() or not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RestError("rest_invalid_json", "Invalid JSON body passed.", 400,
                        {"json_error_code": 4, "json_error_message": "Syntax error"}) from None


def dispatch(router: Router, req: Req, params_for: Callable[[Callable], dict | None], check_key) -> Answer:
    found = router.match(req.method, req.route)
    if found is None:
        raise no_route()
    handler, groups = found
    req.url_params = groups
    if req.key is not None:
        error = check_key(req.key, req.method)
        if error is not None:
            raise error
    return handler(req)

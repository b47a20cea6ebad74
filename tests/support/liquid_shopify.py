"""Shopify's Liquid, as far as the theme app extension uses it, on python-liquid (a real engine).

python-liquid brings the standard tags and filters; this module adds what Shopify adds and the
extension relies on, written to behave as Shopify's does:

- `{% schema %}...{% endschema %}`: renders nothing; the JSON inside is what the theme editor reads
  (`block_schema()` parses it, and refuses Liquid inside it, as Shopify does).
- `t`: looks the key up in the extension's storefront locale file for `request.locale.iso_code`
  ("pl-PL" -> "pl"), then in the default one (`*.default.json`), else prints "translation missing:
  <locale>.<key>"; interpolates `{{ name }}` from the filter's keyword arguments; HTML-escapes the
  result unless the key ends in `_html`.
- `asset_url`: the extension asset's URL on Shopify's CDN (`ASSET_BASE_URL` + name); a name with no
  file under assets/ is an error, so a typo fails the test instead of a 404 on a storefront.
- `json`: JSON as Shopify prints it: compact, UTF-8 kept, and `<`, `>`, `&`, U+2028 and U+2029
  escaped as \\uXXXX so the output is safe inside a <script> tag.
- `date`: Ruby's strftime (flags `-`, `_`, `0`, `^`), "now"/"today" from the environment's clock
  (pinned by tests), strings parsed as Ruby's Time.parse would; an unparsable input is returned
  unchanged, as Liquid does.

It also builds objects shaped like Shopify's Liquid objects (`make_variant`, `make_product`,
`make_request`, `make_block`, `Metafield`) and reads what a shopper would see in rendered HTML
(`visible_text`).
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

from dateutil import parser as date_parser
from liquid import Environment
from liquid import ast
from liquid.exceptions import LiquidSyntaxError
from liquid.filter import with_context
from liquid import FileSystemLoader
from liquid.tag import Tag
from liquid.token import TOKEN_EOF, TOKEN_TAG
from liquid.undefined import is_undefined

REPO = Path(__file__).resolve().parents[2]
EXTENSION_DIR = REPO / "connectors" / "shopify" / "extension"
# Where Shopify serves a deployed theme app extension's assets: the extension's uuid and version.
ASSET_BASE_URL = "https://cdn.shopify.com/extensions/6f1c2a7e-0b3d-4c55-9a8e-backorderdesk/1.0.0/assets/"


# --- {% schema %} -------------------------------------------------------------------------------

class SchemaNode(ast.Node):
    __slots__ = ("text",)

    def __init__(self, token, text: str):
        super().__init__(token)
        self.text = text

    def __str__(self) -> str:
        return f"{{% schema %}}{self.text}{{% endschema %}}"

    def render_to_output(self, context, buffer) -> int:  # noqa: ARG002
        return 0


class SchemaTag(Tag):
    """`{% schema %}`: block settings for the theme editor; no output on the storefront."""

    name = "schema"
    end = "endschema"

    def parse(self, stream) -> SchemaNode:
        token = stream.eat(TOKEN_TAG)
        text: list[str] = []
        while True:
            if stream.current.kind == TOKEN_EOF:
                raise LiquidSyntaxError("schema tag was never closed", token=token)
            if stream.current.kind == TOKEN_TAG and stream.current.value == self.end:
                break
            text.append(stream.current.value)
            next(stream)
        return SchemaNode(token, "".join(text))


SCHEMA_PATTERN = re.compile(r"{%-?\s*schema\s*-?%}(?P<json>.*?){%-?\s*endschema\s*-?%}", re.DOTALL)


def block_schema(path: Path) -> dict:
    """The parsed `{% schema %}` of a block file; Shopify allows exactly one, with no Liquid in it."""
    found = SCHEMA_PATTERN.findall(path.read_text(encoding="utf-8"))
    if len(found) != 1:
        raise ValueError(f"{path.name}: expected one schema tag, found {len(found)}")
    text = found[0]
    if "{{" in text or "{%" in text:
        raise ValueError(f"{path.name}: Liquid inside the schema tag")
    return json.loads(text)


# --- filters --------------------------------------------------------------------------------------

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _plain(value: Any) -> Any:
    if is_undefined(value):
        return None
    if isinstance(value, Metafield):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def json_filter(value: Any) -> str:
    text = json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], text)


def asset_url(name: Any) -> str:
    name = str(name)
    if not (EXTENSION_DIR / "assets" / name).is_file():
        raise ValueError(f"asset_url: no file assets/{name} in the extension")
    return ASSET_BASE_URL + name


@with_context
def translate(key: Any, *, context, **variables: Any) -> str:
    env: ShopifyEnvironment = context.env
    locale = _request_locale(context) or env.default_locale
    key = str(key)
    text = env.lookup(locale, key)
    if text is None:
        return f"translation missing: {locale}.{key}"
    if not isinstance(text, str):
        raise NotImplementedError(f"t: {key} is not a plain string (pluralisation is not modelled)")

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in variables:
            raise KeyError(f"t: {key} needs {name!r}")
        value = variables[name]
        return "" if value is None or is_undefined(value) else str(value)

    text = re.sub(r"{{\s*(\w+)\s*}}", substitute, text)
    return text if key.endswith("_html") else html.escape(text, quote=True)


def _request_locale(context) -> str | None:
    value = context.get(["request", "locale", "iso_code"], token=None, default=None)
    return None if value is None or is_undefined(value) else str(value)


_STRFTIME = re.compile(r"%([-_0^#]*)(\d*)([a-zA-Z%+])")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def ruby_strftime(moment: dt.datetime, fmt: str) -> str:
    """Ruby's Time#strftime for the directives Liquid templates use; others are an error."""

    def number(value: int, width: int, flags: str, pad: str = "0") -> str:
        if "-" in flags:
            return str(value)
        if "_" in flags:
            pad = " "
        elif "0" in flags:
            pad = "0"
        return str(value).rjust(width, pad)

    def text(value: str, flags: str) -> str:
        return value.upper() if "^" in flags or "#" in flags else value

    def replace(match: re.Match) -> str:
        flags, width, directive = match.groups()
        w = int(width) if width else None
        numbers = {
            "Y": (moment.year, 4), "y": (moment.year % 100, 2), "m": (moment.month, 2),
            "d": (moment.day, 2), "j": (moment.timetuple().tm_yday, 3), "H": (moment.hour, 2),
            "M": (moment.minute, 2), "S": (moment.second, 2), "I": ((moment.hour % 12) or 12, 2),
            "u": (moment.isoweekday(), 1), "w": (moment.isoweekday() % 7, 1),
        }
        if directive in numbers:
            value, default_width = numbers[directive]
            return number(value, w or default_width, flags)
        if directive == "e":
            return number(moment.day, w or 2, flags, pad=" ")
        if directive == "l":
            return number((moment.hour % 12) or 12, w or 2, flags, pad=" ")
        names = {
            "B": _MONTHS[moment.month - 1], "b": _MONTHS[moment.month - 1][:3],
            "h": _MONTHS[moment.month - 1][:3], "A": _DAYS[moment.weekday()],
            "a": _DAYS[moment.weekday()][:3], "p": "AM" if moment.hour < 12 else "PM",
            "P": "am" if moment.hour < 12 else "pm",
        }
        if directive in names:
            return text(names[directive], flags)
        if directive == "F":
            return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        if directive == "%":
            return "%"
        raise ValueError(f"date: strftime directive %{directive} is not modelled")

    return _STRFTIME.sub(replace, fmt)


@with_context
def date_filter(value: Any, fmt: Any = None, *, context) -> Any:
    if fmt is None or is_undefined(fmt) or fmt == "":
        return value
    if value is None or is_undefined(value) or value == "":
        return value
    moment = _to_time(value, context.env.now)
    return value if moment is None else ruby_strftime(moment, str(fmt))


def _to_time(value: Any, now: dt.datetime) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min)
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, str):
        if value.lower() in ("now", "today"):
            return now
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        try:
            return date_parser.parse(value)
        except (ValueError, OverflowError):
            return None
    return None


# --- the environment ------------------------------------------------------------------------------

class ShopifyEnvironment(Environment):
    """python-liquid with Shopify's tags and filters, reading one theme app extension's files."""

    def __init__(self, extension_dir: Path = EXTENSION_DIR, *, now: dt.datetime):
        super().__init__(loader=FileSystemLoader(extension_dir / "snippets", ext=".liquid"))
        self.extension_dir = extension_dir
        self.now = now
        self.locales: dict[str, dict] = {}
        self.default_locale = ""
        for path in sorted((extension_dir / "locales").glob("*.json")):
            if path.name.endswith(".schema.json"):
                continue  # theme editor texts, not the storefront's
            code = path.name.removesuffix(".json").removesuffix(".default")
            if path.name.endswith(".default.json"):
                self.default_locale = code
            self.locales[code] = json.loads(path.read_text(encoding="utf-8"))
        if not self.default_locale:
            raise ValueError("the extension has no default storefront locale (*.default.json)")
        self.add_tag(SchemaTag)
        self.add_filter("t", translate)
        self.add_filter("translate", translate)
        self.add_filter("asset_url", asset_url)
        self.add_filter("json", json_filter)
        self.add_filter("date", date_filter)

    def lookup(self, locale: str, key: str) -> Any:
        candidates = [locale, locale.split("-")[0], self.default_locale]
        for code in dict.fromkeys(candidates):
            node: Any = self.locales.get(code)
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return node
        return None

    def render_block(self, name: str, **objects: Any) -> str:
        """Render blocks/<name>.liquid with Shopify's objects (product, request, block, ...)."""
        source = (self.extension_dir / "blocks" / f"{name}.liquid").read_text(encoding="utf-8")
        return self.from_string(source).render(**objects)


# --- Shopify's objects ----------------------------------------------------------------------------

class Metafield(Mapping):
    """Liquid's `metafield`: `.value` is the parsed value (an object for type json)."""

    def __init__(self, type_: str, value: Any):
        self._fields = {"type": type_, "value": value, "list?": type_.startswith("list.")}

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __str__(self) -> str:
        value = self._fields["value"]
        return json.dumps(value, ensure_ascii=False) if self._fields["type"] == "json" else str(value)


def make_variant(variant_id: int, title: str, *, quantity: int, tracked: bool = True,
                 policy: str = "deny", eta: dict | None = None, metafields: dict | None = None,
                 price: int = 45000) -> dict:
    """A `variant` as Liquid sees it. `eta` is the app's metafield value (namespace $app)."""
    namespaces: dict[str, dict] = {k: dict(v) for k, v in (metafields or {}).items()}
    if eta is not None:
        namespaces.setdefault("$app", {})["backorder_eta"] = Metafield("json", eta)
    available = not tracked or quantity > 0 or policy == "continue"
    return {
        "id": variant_id,
        "title": title,
        "name": title,
        "available": available,
        "inventory_management": "shopify" if tracked else None,
        "inventory_policy": policy,
        "inventory_quantity": quantity,
        "price": price,
        "metafields": namespaces,
        "url": f"/products/desk?variant={variant_id}",
    }


def make_product(product_id: int, title: str, variants: list[dict], *,
                 variant_param: int | None = None) -> dict:
    """A `product`. `selected_or_first_available_variant` follows Shopify: the variant named by
    ?variant= when it belongs to the product, else the first available variant, else the first."""
    by_id = {v["id"]: v for v in variants}
    selected = by_id.get(variant_param) or next((v for v in variants if v["available"]), variants[0])
    return {
        "id": product_id,
        "title": title,
        "handle": "desk",
        "variants": variants,
        "has_only_default_variant": len(variants) == 1,
        "available": any(v["available"] for v in variants),
        "selected_variant": by_id.get(variant_param),
        "selected_or_first_available_variant": selected,
        "first_available_variant": next((v for v in variants if v["available"]), None),
        "url": "/products/desk",
    }


def make_request(locale: str = "en", *, page_type: str = "product") -> dict:
    names = {"en": ("English", "English"), "pl": ("Polish", "polski")}
    name, endonym = names.get(locale.split("-")[0], (locale, locale))
    return {
        "page_type": page_type,
        "host": "shop.test",
        "path": "/products/desk",
        "locale": {"iso_code": locale, "name": name, "endonym_name": endonym, "primary": locale == "en",
                   "root_url": "/" if locale == "en" else f"/{locale}"},
        "design_mode": False,
    }


def make_block(block_id: str = "backorder_eta_AbC123", *, design_mode: bool = False, **settings: Any) -> dict:
    """A `block`. `shopify_attributes` is empty on the storefront, set in the theme editor."""
    attributes = f'data-shopify-editor-block="{{&quot;id&quot;:&quot;{block_id}&quot;}}"' if design_mode else ""
    return {
        "id": block_id,
        "type": "shopify://apps/backorder-desk/blocks/backorder_eta/6f1c2a7e",
        "settings": settings,
        "shopify_attributes": attributes,
    }


# --- what a shopper sees --------------------------------------------------------------------------

class _VisibleText(HTMLParser):
    SKIP = {"script", "style", "template", "head", "title", "noscript"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is it hidden (or inside something hidden)?
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        names = {name for name, _ in attrs}
        hidden = (self.stack and self.stack[-1]) or tag in self.SKIP or "hidden" in names
        self.stack.append(bool(hidden))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_text(markup: str) -> str:
    """The text a shopper would read in `markup`: no scripts, nothing hidden, spaces collapsed."""
    reader = _VisibleText()
    reader.feed(markup)
    reader.close()
    return " ".join(" ".join(reader.parts).split())


def data_of(markup: str) -> list[dict]:
    """Every JSON document the extension rendered into script[data-backorder-eta-data]."""
    found = re.findall(r'<script type="application/json" data-backorder-eta-data>(.*?)</script>',
                       markup, re.DOTALL)
    return [json.loads(text) for text in found]

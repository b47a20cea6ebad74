"""The WooCommerce companion plugin (connectors/woocommerce/wordpress-plugin), checked with real PHP.

Debian's php-cli (installed by `make test`) lints every PHP file and runs the plugin's own test
script, tests/run.php, which loads the plugin against small stubs of WordPress and WooCommerce
(tests/bootstrap.php, tests/woocommerce-stubs.php) and checks what shoppers and merchants see:
availability text, cart item data, order line meta, the settings route, the launch link. Every
network function is stubbed to fail the test that calls it.

Here, independently of PHP, Python checks the launch links that script produced the way the app
will verify them (hmac over "store|user|ts|nonce"), and that the compiled Polish .mo is the .po.
"""
from __future__ import annotations

import gettext
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "connectors" / "woocommerce" / "wordpress-plugin"
LANGUAGES = PLUGIN / "languages"
PHP_FILES = sorted(PLUGIN.rglob("*.php"))


@pytest.fixture(scope="module")
def php() -> str:
    path = shutil.which("php")
    if path is None:
        pytest.fail("php is not installed: `make test` installs Debian's php-cli (apt-get install php-cli).",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def plugin_run(php, tmp_path_factory) -> dict:
    """Runs tests/run.php once; its results and the launch links it made, with the clock around it."""
    out = tmp_path_factory.mktemp("wordpress-plugin") / "results.json"
    started = int(time.time())
    proc = subprocess.run([php, "tests/run.php", f"--json={out}"], cwd=PLUGIN, capture_output=True,
                          text=True, timeout=120)
    finished = int(time.time())
    assert proc.returncode == 0, f"tests/run.php failed:\n{proc.stdout}\n{proc.stderr}"
    results = json.loads(out.read_text(encoding="utf-8"))
    return {**results, "started": started, "finished": finished, "stdout": proc.stdout}


def test_the_plugin_has_its_files():
    names = {p.relative_to(PLUGIN).as_posix() for p in PHP_FILES}
    assert {"backorder-desk.php", "uninstall.php", "tests/run.php", "tests/bootstrap.php"} <= names
    assert len([n for n in names if n.startswith("includes/")]) >= 5


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: p.relative_to(PLUGIN).as_posix())
def test_php_lint(php, path):
    proc = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "No syntax errors detected" in proc.stdout, proc.stdout + proc.stderr


def test_plugin_php_tests_pass(plugin_run):
    failed = [t for t in plugin_run["tests"] if not t["ok"]]
    assert not failed, "\n".join(f"{t['name']}: {t.get('detail')}" for t in failed)
    assert len(plugin_run["tests"]) >= 35, plugin_run["stdout"]
    assert plugin_run["stdout"].rstrip().endswith(f"1..{len(plugin_run['tests'])}")
    assert "not ok" not in plugin_run["stdout"]


def _signature(secret: str, store: str, user: str, ts: str, nonce: str) -> str:
    message = "|".join((store, user, ts, nonce)).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def test_launch_links_verify_with_python_hmac(plugin_run):
    """What the app's /admin/launch/woocommerce must do, done here to the plugin's real links."""
    samples = plugin_run["launch_samples"]
    assert len(samples) >= 3
    nonces = set()
    for sample in samples:
        url = urlsplit(sample["url"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == sample["app_url"] + "/admin/launch/woocommerce"
        pairs = parse_qsl(url.query, keep_blank_values=True, strict_parsing=True)
        assert [k for k, _ in pairs] == ["store", "user", "ts", "nonce", "sig"]
        params = dict(pairs)
        assert params["store"] == sample["store"]
        assert params["user"] == str(sample["user"])
        assert plugin_run["started"] - 5 <= int(params["ts"]) <= plugin_run["finished"] + 5
        assert re.fullmatch(r"[0-9a-f]{32}", params["nonce"])
        assert re.fullmatch(r"[0-9a-f]{64}", params["sig"])
        expected = _signature(sample["secret"], params["store"], params["user"], params["ts"], params["nonce"])
        assert hmac.compare_digest(expected, params["sig"])
        # A link altered in any signed part, or checked with another secret, does not verify.
        for field in ("store", "user", "ts", "nonce"):
            altered = {**params, field: params[field] + "0"}
            assert not hmac.compare_digest(
                _signature(sample["secret"], altered["store"], altered["user"], altered["ts"], altered["nonce"]),
                params["sig"])
        assert not hmac.compare_digest(
            _signature(sample["secret"] + "x", params["store"], params["user"], params["ts"], params["nonce"]),
            params["sig"])
        nonces.add(params["nonce"])
    assert len(nonces) == len(samples), "every click gets a new nonce"


def test_launch_link_fixed_vector(plugin_run):
    secret, store, user, ts, nonce = ("secret-secret-secret-secret-secret", "https://shop.example", "42",
                                      "1796140800", "00112233445566778899aabbccddeeff")
    sig = _signature(secret, store, user, ts, nonce)
    assert plugin_run["fixed_vector"] == (
        "https://app.example/admin/launch/woocommerce?store=https%3A%2F%2Fshop.example"
        f"&user={user}&ts={ts}&nonce={nonce}&sig={sig}")


def test_polish_mo_is_the_compiled_po():
    with (LANGUAGES / "backorder-desk-pl_PL.po").open("rb") as f:
        catalog = read_po(f, locale="pl_PL")
    with (LANGUAGES / "backorder-desk.pot").open("rb") as f:
        template = read_po(f)
    with (LANGUAGES / "backorder-desk-pl_PL.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    assert {m.id for m in catalog if m.id} == {m.id for m in template if m.id}
    for message in catalog:
        if not message.id:
            continue
        assert message.string and not message.fuzzy, f"untranslated: {message.id}"
        assert compiled.gettext(message.id) == message.string, message.id
    assert compiled.info()["language"] == "pl_PL"
    assert compiled.gettext("Estimated ship date") == "Przewidywana data wysyłki"


def test_readme_is_in_wordpress_format():
    text = (PLUGIN / "readme.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "=== Backorder Desk ==="
    headers = {}
    for line in lines[1:]:
        if not line.strip():
            break
        key, _, value = line.partition(":")
        headers[key.strip()] = value.strip()
    assert {"Contributors", "Tags", "Requires at least", "Tested up to", "Requires PHP", "Stable tag",
            "License"} <= set(headers)
    assert headers["Requires PHP"] == "8.1"
    version = re.search(r"^ \* Version:\s+(\S+)$", (PLUGIN / "backorder-desk.php").read_text(encoding="utf-8"), re.M)
    assert version and headers["Stable tag"] == version.group(1)
    short_description = lines[len(headers) + 2]
    assert short_description and len(short_description) <= 150, short_description
    for section in ("== Description ==", "== Installation ==", "== REST API ==", "== Changelog =="):
        assert section in text
    assert "POST /wp-json/backorder-desk/v1/settings" in text


def test_line_labels_match_the_apps():
    """The visible order line meta is written by the plugin at checkout and rewritten by the app
    afterwards: both must use the same key in each language, or a line shows the date twice."""
    manifest = json.loads((REPO / "manifest.json").read_text(encoding="utf-8"))
    labels = (manifest.get("woocommerce", {}).get("line_item_meta", {}).get("label")
              or manifest["shopify"]["line_item_property"])
    with (LANGUAGES / "backorder-desk-pl_PL.mo").open("rb") as f:
        polish = gettext.GNUTranslations(f)
    assert labels["en"] == "Estimated ship date"
    assert polish.gettext(labels["en"]) == labels["pl"]
    storefront = (PLUGIN / "includes" / "class-backorder-desk-storefront.php").read_text(encoding="utf-8")
    known = re.search(r"const KNOWN_LINE_LABELS = array\((.*?)\);", storefront, re.S)
    assert known and set(re.findall(r"'([^']*)'", known.group(1))) == set(labels.values())

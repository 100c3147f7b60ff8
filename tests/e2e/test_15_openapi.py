"""The OpenAPI document and /docs.

/v1/openapi.json is served without a key, is OpenAPI 3.1, and every
operation it documents is routed on the live gateway. /docs renders the
document in a real browser (Debian's headless Chromium) from files the
gateway serves itself, and no request leaves this machine: every host but
127.0.0.1 fails to resolve, and Chromium's network log must name no other.
"""
import json
import re
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit

import pytest

from conftest import ENV, ROOT, Api

OVERLAY = ROOT / "gateway" / "openapi" / "overlay.json"
METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM_SLUGS = ["bad-request", "unauthorized", "forbidden", "not-found", "method-not-allowed", "conflict",
                 "precondition-failed", "content-too-large", "unsupported-media-type", "unprocessable-content",
                 "too-many-requests", "internal-server-error", "service-unavailable", "gateway-timeout"]


@pytest.fixture(scope="module")
def document():
    r = Api(None).get("/v1/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_document_is_served_without_a_key_and_is_openapi_3_1(anon):
    r = anon.get("/v1/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["X-Request-Id"]
    doc = r.json()
    assert doc["openapi"].startswith("3.1.")
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["security"] == [{"bearer": []}]
    assert len(list(operations(doc))) >= 5


def test_document_refuses_other_methods(anon):
    r = anon.post("/v1/openapi.json", {})
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"


def test_every_documented_operation_is_routed(anon, document):
    """Without a key, a routed operation is 401; an unrouted one would be 404 or 405."""
    wrong = []
    for path, method, op in operations(document):
        concrete = re.sub(r"\{[^}/]+\}", lambda _: str(uuid.uuid4()), path)
        r = anon.s.request(method.upper(), anon.base + concrete, timeout=10)
        if op.get("security") == []:  # ics: keyless (a feed's token): routed is anything but no_route
            if r.status_code == 405 or r.json().get("code") == "no_route":
                wrong.append(f"{method.upper()} {path}: {r.status_code} {r.text[:200]}")
            continue
        if r.status_code != 401 or not r.headers.get("WWW-Authenticate", "").startswith("Bearer"):
            wrong.append(f"{method.upper()} {path}: {r.status_code} {r.text[:200]}")
    assert not wrong, "documented but not routed:\n" + "\n".join(wrong)


def test_docs_page_and_redoc_bundle_are_served_without_a_key(anon):
    r = anon.get("/docs")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'spec-url="/v1/openapi.json"' in r.text
    assert 'src="/docs/redoc.standalone.js"' in r.text
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    js = anon.get("/docs/redoc.standalone.js")
    assert js.status_code == 200
    assert js.headers["Content-Type"].startswith("text/javascript")
    assert len(js.content) > 100_000
    assert anon.get("/docs/nowhere").status_code == 404
    assert anon.get("/docs/").status_code == 404
    assert anon.post("/docs", {}).status_code == 405


def test_problem_types_page_explains_every_type_the_gateway_sends(anon, cw_a):
    r = anon.get("/docs/problems")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    for slug in PROBLEM_SLUGS:
        assert f'id="{slug}"' in r.text, slug
    # The types real answers carry are anchors on that page.
    for answer in (anon.get("/v1/cases"), cw_a.get("/v1/nowhere"), cw_a.get(f"/v1/cases/{uuid.uuid4()}")):
        kind = answer.json()["type"]
        assert kind.startswith("/docs/problems#"), kind
        assert f'id="{kind.split("#", 1)[1]}"' in r.text, kind


def chromium(tmp_path, *args):
    """Runs headless Chromium with every host but 127.0.0.1 unresolvable and
    its network log on. Returns the completed process, the URLs the page
    asked for (the navigation, and what it loaded with the page's origin as
    initiator; Chromium's own background requests have none) and the remote
    addresses of the connections it made."""
    exe = shutil.which("chromium")
    assert exe, "chromium is not installed: run scripts/install-deps.sh"
    profile = tmp_path / f"profile-{uuid.uuid4().hex[:8]}"
    netlog = tmp_path / f"netlog-{uuid.uuid4().hex[:8]}.json"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
           f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
           f"--log-net-log={netlog}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
           "--window-size=1280,1600", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    page, remotes = set(), set()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(ENV["PARLEY_URL"]))
    # One event a line; a log cut short as Chromium exits is still readable.
    lines = netlog.read_text(errors="replace").splitlines() if netlog.exists() else []
    for line in lines:
        try:
            params = json.loads(line.rstrip().rstrip(",")).get("params", {})
        except ValueError:
            continue
        if "url" in params and "initiator" in params:
            if params["initiator"] == origin or params.get("request_type") == "main frame":
                page.add(params["url"])
        if "remote_address" in params:
            remotes.add(params["remote_address"])
    return p, page, remotes


# What the page may try to load from elsewhere and /docs's Content-Security-
# Policy must block before any request: Redoc's footer logo.
CSP_BLOCKED_OK = {"https://cdn.redoc.ly/redoc/logo-mini.svg"}


def blocked_by_csp(stderr):
    """The URLs the page's CSP refused, from Chromium's console log."""
    return set(re.findall(r"Loading the \w+ '([^']+)' violates the following Content Security Policy", stderr))


def assert_only_localhost(page, remotes):
    assert page, "Chromium's network log recorded no request of the page"
    for url in page:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            continue
        assert parts.hostname == "127.0.0.1", f"the page asked for another host: {url}"
    for address in remotes:
        assert address.startswith("127.0.0.1:"), f"Chromium connected to {address}"


def test_docs_render_in_headless_chromium_without_leaving_localhost(tmp_path, document):
    url = ENV["PARLEY_URL"] + "/docs"
    assert urlsplit(url).hostname == "127.0.0.1", "the sweep expects the stack on 127.0.0.1"
    p, urls, remotes = chromium(tmp_path, "--dump-dom", url)
    assert p.returncode == 0, p.stderr[-2000:]
    dom = p.stdout
    overlay = json.loads(OVERLAY.read_text())["operations"]
    routed = [op["operationId"] for _, _, op in operations(document)]
    shown = [overlay[i]["summary"] for i in routed if overlay[i]["summary"] in dom]
    assert shown, "no operation's summary in the rendered page:\n" + dom[:3000]
    assert len(shown) == len(routed), f"rendered {len(shown)} of {len(routed)} operations"
    assert overlay["CreateFamily"]["summary"] in dom
    assert_only_localhost(urls, remotes)
    assert blocked_by_csp(p.stderr) <= CSP_BLOCKED_OK, blocked_by_csp(p.stderr)
    assert any(u.endswith("/v1/openapi.json") for u in urls), urls
    assert any(u.endswith("/docs/redoc.standalone.js") for u in urls), urls

    shot = tmp_path / "docs.png"
    p, urls, remotes = chromium(tmp_path, f"--screenshot={shot}", url)
    assert p.returncode == 0, p.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000, "the screenshot is missing or blank"
    assert_only_localhost(urls, remotes)
    keep = ROOT / ENV.get("PARLEY_VAR_DIR", "var") / "log" / "docs.png"  # with the logs: reset may delete it
    if keep.parent.is_dir():
        shutil.copyfile(shot, keep)


def test_the_document_kept_in_the_repository_is_the_one_served(document):
    """docs/openapi.json is the contract a clone can read without a stack;
    `make openapi` writes it from the gateway that serves this one."""
    kept = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert kept == document, "docs/openapi.json differs from GET /v1/openapi.json: run `make openapi` and commit it"

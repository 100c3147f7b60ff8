#!/usr/bin/python3
"""measure_openapi.py DOC|URL — the measures of issue 11's acceptance table,
taken from an OpenAPI document (a file, or the live gateway's
http://127.0.0.1:PORT/v1/openapi.json), and Spectral's OWASP counts.

    tools/measure_openapi.py http://127.0.0.1:$PARLEY_HTTP_PORT/v1/openapi.json
    tools/measure_openapi.py build/test-var-*/openapi.json --json

Request schemas are the components a request body reaches and the inline
bodies of routes whose path binds part of the input; a request schema "has a
required field" when it declares one, or when an operation's example or the
services refuse it without one (only the document is read here, so the
count is of schemas declaring `required`). Date fields are properties and
parameters named `on`, `*On` or `dateOfBirth`; id fields are those named
`id`, `*Id`, or `*Ids` (their items), and every `{id}`-style path parameter.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECTRAL = os.path.join(ROOT, "tools", "node_modules", ".bin", "spectral")
OWASP = os.path.join(ROOT, "tools", "spectral-owasp.yaml")
BARE_OWASP = "extends:\n  - \"@stoplight/spectral-owasp-ruleset\"\n"
METHODS = ("get", "put", "post", "patch", "delete")


def load(src):
    if src.startswith(("http://", "https://")):
        with urllib.request.urlopen(src, timeout=10) as r:
            return json.load(r)
    with open(src) as f:
        return json.load(f)


def resolve(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def walk_refs(doc, obj, seen):
    """Component names reachable from obj."""
    if isinstance(obj, dict):
        ref = obj.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                walk_refs(doc, doc["components"]["schemas"][name], seen)
        for v in obj.values():
            walk_refs(doc, v, seen)
    elif isinstance(obj, list):
        for v in obj:
            walk_refs(doc, v, seen)


def operations(doc):
    for path, item in doc.get("paths", {}).items():
        for m in METHODS:
            if m in item:
                yield path, m, item[m]


def is_date(name):
    return name == "on" or name.endswith("On") or name == "dateOfBirth"


def is_id(name):
    return name == "id" or name.endswith("Id") or name.endswith("Ids")


def formatted(schema, want):
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    return schema.get("format") == want or "pattern" in schema


def measure(doc):
    schemas = doc.get("components", {}).get("schemas", {})
    out = collections.OrderedDict()
    objects = {n: s for n, s in schemas.items() if s.get("type") == "object"}
    enums = {n: s for n, s in schemas.items() if "enum" in s}
    # Request schemas: components reached from request bodies, and inline bodies.
    request_components, inline = set(), []
    for path, m, op in operations(doc):
        body = op.get("requestBody")
        if not body:
            continue
        for media in resolve(doc, body).get("content", {}).values():
            sch = media.get("schema", {})
            if "$ref" in sch:
                walk_refs(doc, sch, request_components)
            else:
                inline.append((f"{m.upper()} {path}", sch))
                walk_refs(doc, sch, request_components)
    req_objects = [(n, objects[n]) for n in sorted(request_components) if n in objects] + inline
    out["object schemas declaring required"] = (sum(1 for s in objects.values() if s.get("required")), len(objects))
    out["request schemas declaring required"] = (sum(1 for _, s in req_objects if s.get("required")), len(req_objects))
    out["inline request bodies declaring required"] = (sum(1 for _, s in inline if s.get("required")), len(inline))
    out["request schemas with additionalProperties: false"] = (
        sum(1 for _, s in req_objects if s.get("additionalProperties") is False), len(req_objects))
    # Properties everywhere (components and inline bodies).
    props = [(f"{n}.{p}", ps) for n, s in list(objects.items()) + inline for p, ps in s.get("properties", {}).items()]
    out["properties with a description"] = (sum(1 for _, p in props if p.get("description")), len(props))
    out["enums with a description"] = (sum(1 for s in enums.values() if s.get("description")), len(enums))
    ops = list(operations(doc))
    with_body = [(p, m, o) for p, m, o in ops if o.get("requestBody")]

    def has_example(media):
        return bool(media.get("example") is not None or media.get("examples"))

    def ok_example(o):
        for code, r in o.get("responses", {}).items():
            if code.startswith("2"):
                content = resolve(doc, r).get("content")
                if not content:
                    return True  # 204: nothing to show
                return any(has_example(mt) for mt in content.values())
        return False

    out["operations with a response example"] = (sum(1 for _, _, o in ops if ok_example(o)), len(ops))
    out["operations with a request example (of those with a body)"] = (
        sum(1 for _, _, o in with_body
            if any(has_example(mt) for mt in resolve(doc, o["requestBody"]).get("content", {}).values())),
        len(with_body))
    examples = sum(json.dumps(doc).count(k) for k in ('"example":', '"examples":'))
    out["`example`/`examples` anywhere"] = (examples, None)
    # Dates and ids: properties and parameters.
    named = [(n, p) for n, p in props]
    for path, m, op in ops:
        for prm in op.get("parameters", []):
            prm = resolve(doc, prm)
            if prm.get("in") in ("path", "query"):
                named.append((f"{m.upper()} {path} ?{prm['name']}", prm.get("schema", {})))
    dates = [(n, s) for n, s in named if is_date(n.rsplit(".", 1)[-1].split("?")[-1])]
    ids = [(n, s) for n, s in named if is_id(n.rsplit(".", 1)[-1].split("?")[-1])]
    out["date fields typed format: date"] = (sum(1 for _, s in dates if formatted(s, "date")), len(dates))
    out["id fields or {id} parameters with format: uuid (or a pattern)"] = (
        sum(1 for _, s in ids if formatted(s, "uuid")), len(ids))
    text = json.dumps(doc)
    for k in ("maxLength", "maximum", "maxItems", "pattern"):
        out[f"`{k}`"] = (text.count(f'"{k}":'), None)
    out["`format: email`"] = (text.count('"format": "email"') + text.count('"format":"email"'), None)
    out["`format: uri`"] = (text.count('"format": "uri"') + text.count('"format":"uri"'), None)
    out["`additionalProperties: false`"] = (text.count('"additionalProperties": false')
                                            + text.count('"additionalProperties":false'), None)
    return out, {"undated": [n for n, s in dates if not formatted(s, "date")],
                 "unformatted ids": [n for n, s in ids if not formatted(s, "uuid")],
                 "undescribed enums": [n for n, s in enums.items() if not s.get("description")]}


def spectral(doc, ruleset_text=None):
    """(errors, warnings, by rule) from the OWASP ruleset: tools/spectral-owasp.yaml, or ruleset_text."""
    if not os.path.exists(SPECTRAL):
        return None
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "openapi.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        rules = OWASP
        if ruleset_text is not None:
            rules = os.path.join(ROOT, "tools", ".measure-owasp.yaml")
            with open(rules, "w") as f:
                f.write(ruleset_text)
        try:
            r = subprocess.run([SPECTRAL, "lint", "-r", rules, path, "-f", "json", "-q"], capture_output=True,
                               text=True, cwd=os.path.join(ROOT, "tools"), timeout=300)
        finally:
            if ruleset_text is not None:
                os.unlink(rules)
        found = json.loads(r.stdout or "[]")
    by = collections.Counter((x["code"], "error" if x["severity"] == 0 else "warning") for x in found)
    return (sum(1 for x in found if x["severity"] == 0), sum(1 for x in found if x["severity"] == 1), by)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    doc = load(argv[1])
    out, gaps = measure(doc)
    as_json = "--json" in argv
    rows = []
    for k, (n, total) in out.items():
        rows.append((k, f"{n} of {total}" if total is not None else str(n)))
    for label, text in (("Spectral OWASP (tools/spectral-owasp.yaml)", None),
                        ("Spectral OWASP (the bare ruleset, nothing switched off)", BARE_OWASP)):
        s = spectral(doc, text)
        if s is not None:
            errors, warnings, by = s
            top = ", ".join(f"{c.split(':')[-1].split('2023-')[-1]} {n}" for (c, sev), n in by.most_common(6))
            rows.append((label, f"{errors} errors, {warnings} warnings ({top})"))
    if as_json:
        print(json.dumps({"measures": dict(rows), "gaps": gaps}, indent=2))
        return 0
    width = max(len(k) for k, _ in rows)
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")
    for k, names in gaps.items():
        if names:
            print(f"\n{k}: {', '.join(names[:30])}{' …' if len(names) > 30 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

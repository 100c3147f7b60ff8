"""The README's examples run exactly as printed (issue 12, item 9).

Every ```sh block of README.md that starts by sourcing the stack's env
(`set -a; . "${PARLEY_VAR_DIR:-var}/stack.env"; set +a`) is an example: it
is run, unchanged, by bash against this stack, with a stack.env of its own
whose demo authorities and keys are fresh ones (so nothing another test
left in the demo authority changes its answers). A block is split into
steps at blank lines; under a step, `# -> …` lines show what it prints:
every `"key":value` pair written there must be in the step's output
(`"key":"…"`: the key, with any value; a
line without pairs: its words must be), and a step that prints a problem
must say which (`"status":404`). A curl example that does not source the
env is an error: it would not be run, and could drift."""
import re
import shlex
import subprocess

from conftest import ENV, ROOT, VAR, make_client, new_authorities

PREAMBLE = 'set -a; . "${PARLEY_VAR_DIR:-var}/stack.env"; set +a'
PAIR = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)":\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')
PROBLEM = re.compile(r'"type":"/docs/problems#[^"]*","title":"[^"]*","status":(\d+)')


def _blocks(text):
    """(line number, [lines]) of every ```sh block."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            out.append((start + 1, body))
        i += 1
    return out


def _steps(body):
    """[(commands, expectations)] split at blank lines."""
    steps, cur = [], []
    for line in body + [""]:
        if line.strip():
            cur.append(line)
        elif cur:
            steps.append(cur)
            cur = []
    out = []
    for step in steps:
        expect, in_expect = [], False
        for line in step:
            if line.startswith("# ->"):
                expect.append(line[4:].strip())
                in_expect = True
            elif in_expect and line.startswith("#  "):
                expect[-1] += " " + line[1:].strip()
            else:
                in_expect = False
        out.append((step, expect))
    return out


def _examples():
    text = (ROOT / "README.md").read_text()
    blocks = _blocks(text)
    runnable = [(n, b) for n, b in blocks if b and b[0].strip() == PREAMBLE]
    stray = [n for n, b in blocks if b and b[0].strip() != PREAMBLE and any("curl" in ln and "$PARLEY_URL" in ln for ln in b)]
    return runnable, stray


def _stack_env(tmp_path):
    """A stack.env like the stack's, with fresh authorities and keys."""
    a, b = new_authorities(2, "readme")
    fresh = {
        "PARLEY_AUTHORITY_A": a, "PARLEY_AUTHORITY_B": b,
        "PARLEY_KEY_ADMIN": make_client(["consortium_admin"], [a, b], name="readme admin"),
        "PARLEY_KEY_CASEWORKER_A": make_client(["caseworker"], [a], name="readme caseworker A"),
        "PARLEY_KEY_CASEWORKER_B": make_client(["caseworker"], [b], name="readme caseworker B"),
        "PARLEY_KEY_PARTNER_A": make_client(["partner_agency"], [a], name="readme partner A"),
    }
    lines = []
    for line in (VAR / "stack.env").read_text().splitlines():
        k = line.split("=", 1)[0]
        if k not in fresh:
            lines.append(line)
    lines += [f"{k}={shlex.quote(v)}" for k, v in fresh.items()]
    (tmp_path / "stack.env").write_text("\n".join(lines) + "\n")
    return fresh


def test_every_curl_example_in_the_readme_is_run_by_this_test():
    runnable, stray = _examples()
    assert runnable, "the README has no example block starting with the stack.env line"
    assert not stray, f"README ```sh blocks at lines {stray} call the API without sourcing stack.env first, " \
                      f"so this test cannot run them: start them with {PREAMBLE!r}"


def test_the_readme_examples_run_as_printed_and_print_what_they_show(tmp_path):
    runnable, _ = _examples()
    _stack_env(tmp_path)
    for start, body in runnable:
        steps = _steps(body)
        script = ["set -euo pipefail"]
        for i, (cmds, _) in enumerate(steps):
            script += cmds
            script.append(f"printf '\\n@@step {i}@@\\n'")
        env = {k: v for k, v in ENV.items() if not k.startswith("PARLEY_")}
        env["PARLEY_VAR_DIR"] = str(tmp_path)
        run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
        outputs = re.split(r"\n@@step \d+@@\n", run.stdout)
        assert run.returncode == 0, \
            f"README block at line {start}: bash exited {run.returncode} after step {len(outputs) - 1}:\n" \
            f"{run.stderr[-2000:]}\n{run.stdout[-2000:]}"
        for (cmds, expect), out in zip(steps, outputs):
            where = f"README block at line {start}, step `{cmds[0][:80]}`"
            shown = " ".join(expect)
            for status in PROBLEM.findall(out):
                assert f'"status":{status}' in shown, \
                    f"{where} answered a {status} problem the README does not show:\n{out[:2000]}"
            for line in expect:
                pairs = PAIR.findall(line)
                if pairs:
                    for k, v in pairs:
                        want = f'"{k}":' if v == '"…"' else f'"{k}":{v}'  # "…": any value
                        assert want in out, \
                            f"{where}: the README shows \"{k}\":{v}, the answer was:\n{out[:3000]}"
                else:
                    for word in re.findall(r"[\w.-]+", line):
                        assert word in out, f"{where}: the README shows {word!r}, the output was:\n{out[:3000]}"


def _route_rows(text):
    """{(METHOD, path template)} -> the row of the README's routes table
    (the section "Routes built so far") that names it."""
    rows = {}
    section = text.split("\n## Routes built so far", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split("|")[1]
        method = None
        for tok in re.findall(r"`([^`]*)`", first):
            for part in re.split(r"\s*·\s*", tok):
                m = re.match(r"^(GET|POST|PUT|PATCH|DELETE)\s+(\S+)$", part.strip())
                if m:
                    method = m.group(1)
                    rows[(method, m.group(2).split("?")[0])] = line
                elif method and part.strip() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    pass
    return rows


def test_the_routes_table_names_every_required_field_of_every_request():
    """A newcomer reads what each route needs in the README's routes table:
    every field a request body requires (as the OpenAPI document declares
    it) is named in the route's row."""
    import json
    doc = json.loads((ROOT / "docs" / "openapi.json").read_text())
    text = (ROOT / "README.md").read_text()
    rows = _route_rows(text)
    missing, unlisted, checked = [], [], 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch"):
                continue
            content = op.get("requestBody", {}).get("content", {})
            schema = next((c.get("schema", {}) for t, c in content.items() if t.startswith("application/json")), {})
            if "$ref" in schema:
                schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            required = schema.get("required", [])
            if not required:
                continue
            checked += 1
            row = rows.get((method.upper(), path))
            if row is None:
                unlisted.append(f"{method.upper()} {path}")
                continue
            missing += [f"{method.upper()} {path}: {f}" for f in required if not re.search(rf"\b{re.escape(f)}\b", row)]
    assert checked >= 10, f"only {checked} request bodies with required fields found: is the document read right?"
    assert not unlisted, f"routes with required fields and no row of their own in the README's routes table: {unlisted}"
    assert not missing, f"required fields the README's routes table does not name: {missing}"

"""A generated TypeScript client trusts the document: the types
openapi-typescript makes from the live /v1/openapi.json accept a program
that registers a family and opens a case with every required field, and
refuse the same program without `consent` (tsc --noEmit). Both come from
tools/node_modules (scripts/install-deps.sh).
"""
import shutil
import subprocess

import pytest

from conftest import ROOT, Api

TOOLS = ROOT / "tools" / "node_modules" / ".bin"
PROGRAM = ROOT / "tests" / "e2e" / "client_ts" / "create_family_and_case.ts"
TSCONFIG = ROOT / "tests" / "e2e" / "client_ts" / "tsconfig.json"
MARK = "// CONSENT: the test drops this line"


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory):
    """A folder with the generated api.d.ts and the tsconfig."""
    for tool in ("openapi-typescript", "tsc"):
        assert (TOOLS / tool).exists(), f"{tool} is not installed: run scripts/install-deps.sh"
    d = tmp_path_factory.mktemp("client_ts")
    r = Api(None).get("/v1/openapi.json")
    assert r.status_code == 200, r.text
    (d / "openapi.json").write_bytes(r.content)
    gen = subprocess.run([str(TOOLS / "openapi-typescript"), str(d / "openapi.json"), "-o", str(d / "api.d.ts")],
                         capture_output=True, text=True, timeout=120)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    shutil.copy(TSCONFIG, d / "tsconfig.json")
    return d


def type_check(d, source):
    (d / "program.ts").write_text(source)
    return subprocess.run([str(TOOLS / "tsc"), "--noEmit", "-p", str(d / "tsconfig.json")], capture_output=True,
                          text=True, timeout=180)


def test_a_program_with_every_required_field_type_checks(client_dir):
    source = PROGRAM.read_text()
    assert MARK in source
    r = type_check(client_dir, source)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_same_program_without_consent_does_not(client_dir):
    source = "\n".join(line for line in PROGRAM.read_text().splitlines() if MARK not in line) + "\n"
    r = type_check(client_dir, source)
    assert r.returncode != 0, "a case without consent type-checks: the document does not say consent is required"
    out = r.stdout + r.stderr
    assert "consent" in out and "TS2741" in out, out

"""A migration that changes existing rows must see all of them.

Every tenant table FORCEs row-level security, so a migration (run as the
table's owner, with no authorities set) that UPDATEs or DELETEs rows sees
none of them: the statement silently does nothing on a fresh test database
and on a real one alike, and a constraint added after it then fails, or old
rows stay unconverted. Found when issue 12's needs migration stopped a stack
that already held children. Each such statement must therefore be
bracketed, in its migration, by `ALTER TABLE t NO FORCE ROW LEVEL SECURITY`
and `ALTER TABLE t FORCE ROW LEVEL SECURITY` for every FORCEd table it
reads or writes (the migration is one transaction, so nothing else ever
runs with it off), and every table must be FORCEd again by the file's end.
"""
import re

from conftest import ROOT

WORD = r"[A-Za-z_][A-Za-z0-9_.]*"


def _statements(sql):
    sql = re.sub(r"\$\$.*?\$\$", " ", sql, flags=re.S)  # function bodies run later, with a caller's authorities
    sql = re.sub(r"--[^\n]*", " ", sql)
    return [s.strip() for s in sql.split(";") if s.strip()]


def _tables(stmt):
    """The tables a row-changing statement touches, lower case."""
    names = set()
    m = re.match(rf"(?is)^(?:WITH .*?\)\s*)?(UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?({WORD})", stmt)
    if not m:
        return None
    names.add(m.group(2))
    names |= set(re.findall(rf"(?i)\b(?:FROM|JOIN|USING)\s+(?:ONLY\s+)?({WORD})", stmt[m.end():]))
    return {n.lower().split(".")[-1] for n in names}


def _violations(path, sql, forced):
    """What in the migration at path changes rows of FORCEd tables while
    row-level security would hide them, or leaves a table unFORCEd."""
    off, out = set(), []
    for stmt in _statements(sql):
        m = re.match(rf"(?is)^ALTER\s+TABLE\s+({WORD})\s+(NO\s+)?FORCE\s+ROW\s+LEVEL\s+SECURITY$", stmt)
        if m:
            t = m.group(1).lower().split(".")[-1]
            (off.add if m.group(2) else off.discard)(t)
            continue
        tables = _tables(stmt)
        if tables:
            hidden = sorted((tables & forced) - off)
            if hidden:
                out.append(f"{path}: `{' '.join(stmt.split())[:90]}…` runs under FORCE on {hidden}")
    out += [f"{path}: leaves {t} without FORCE ROW LEVEL SECURITY" for t in sorted(off)]
    return out


def _forced(db, schema):
    with db.cursor() as c:
        c.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                  " WHERE n.nspname = %s AND c.relforcerowsecurity", (schema,))
        return {r[0] for r in c.fetchall()}


def _migrations():
    for d in sorted((ROOT / "services").glob("*/migrations")) + [ROOT / "gateway" / "migrations"]:
        for f in sorted(d.glob("*.sql")):
            yield d.parent.name, f


def test_migrations_that_change_rows_see_every_authoritys_rows(db):
    found, checked = [], 0
    for schema, f in _migrations():
        forced = _forced(db, schema)
        if not forced:
            continue
        checked += 1
        found += _violations(f.relative_to(ROOT), f.read_text(), forced)
    assert checked >= 10, f"only {checked} migrations of services with FORCEd tables: is the catalog read right?"
    assert not found, "migrations that change rows row-level security hides from them:\n" + "\n".join(found)


def test_the_check_finds_an_unbracketed_update():
    sql = ("ALTER TABLE cases ADD COLUMN x int;\nUPDATE cases SET x = 1 WHERE true;\n"
           "ALTER TABLE kids NO FORCE ROW LEVEL SECURITY;\nUPDATE kids k SET x = 1 FROM cases c WHERE c.id = k.id;\n")
    got = _violations("m.sql", sql, {"cases", "kids"})
    assert len(got) == 3, got  # the first UPDATE, cases in the second's FROM, kids left unFORCEd

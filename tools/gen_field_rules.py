#!/usr/bin/python3
"""gen_field_rules.py SET OUT.c — the field rules table lib/pb reads.

SET is a FileDescriptorSet written by
`protoc-c --descriptor_set_out=SET --include_imports --include_source_info`
over every .proto under proto/. protobuf-c keeps no custom options at run
time, so this reads each field's parley.options.v1.rules option
(proto/parley/options/v1/rules.proto) and its leading comment, and writes
them as a static C table (lib/pb/rules.h): for every message its fields'
rules as lib/pb enforces them, the rules the OpenAPI document shows (a
reply's field also showing the limits of the request fields that set it),
the descriptions, and an example of the whole message; for every enum the
descriptions of its values.

Declarations that cannot mean anything (a length on a number, `required` on
a bool, a pattern POSIX and ECMA-262 read differently, an example the field's
type cannot hold) stop the build, as does an id that is not declared a UUID
(or given a pattern) and a date field (`on`, `*_on`, `date_of_birth`) that
is not declared a date, in every .proto that imports the rules.

Runs with Debian's python3-protobuf (no other dependency).
"""
import json
import re
import sys
import uuid

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

EXT = "parley.options.v1.rules"
RULES_PROTO = "parley/options/v1/rules.proto"
FDP = descriptor_pb2.FieldDescriptorProto

INTS = {FDP.TYPE_INT32, FDP.TYPE_SINT32, FDP.TYPE_SFIXED32, FDP.TYPE_UINT32, FDP.TYPE_FIXED32,
        FDP.TYPE_INT64, FDP.TYPE_SINT64, FDP.TYPE_SFIXED64, FDP.TYPE_UINT64, FDP.TYPE_FIXED64}
INT64S = {FDP.TYPE_INT64, FDP.TYPE_SINT64, FDP.TYPE_SFIXED64, FDP.TYPE_UINT64, FDP.TYPE_FIXED64}
REALS = {FDP.TYPE_FLOAT, FDP.TYPE_DOUBLE}
WRAPPERS = {
    ".google.protobuf.DoubleValue": FDP.TYPE_DOUBLE, ".google.protobuf.FloatValue": FDP.TYPE_FLOAT,
    ".google.protobuf.Int64Value": FDP.TYPE_INT64, ".google.protobuf.UInt64Value": FDP.TYPE_UINT64,
    ".google.protobuf.Int32Value": FDP.TYPE_INT32, ".google.protobuf.UInt32Value": FDP.TYPE_UINT32,
    ".google.protobuf.BoolValue": FDP.TYPE_BOOL, ".google.protobuf.StringValue": FDP.TYPE_STRING,
    ".google.protobuf.BytesValue": FDP.TYPE_BYTES,
}
TIMESTAMP = ".google.protobuf.Timestamp"
FORMATS = ["PB_FORMAT_NONE", "PB_FORMAT_DATE", "PB_FORMAT_UUID", "PB_FORMAT_EMAIL", "PB_FORMAT_HTTP_URL",
           "PB_FORMAT_LANGUAGE_TAG", "PB_FORMAT_PHONE"]
FORMAT_DATE, FORMAT_UUID = 1, 2
# Example values the build makes up for what must appear in an example and
# declares none: the format's own, or the type's.
FORMAT_EXAMPLES = {1: "2024-01-22", 3: "name@example.org", 4: "https://example.org/", 5: "en",
                   6: "020 7946 0000"}
EXAMPLE_TIME = "2024-01-22T10:15:00Z"
VALUE_ATTRS = ("min_len", "max_len", "max_items", "min", "max", "format", "pattern", "pattern_message")
MAX_DEPTH = 8


class Fail(Exception):
    pass


def json_name(name):
    out, upper = [], False
    for c in name:
        if c == "_":
            upper = True
        elif upper and "a" <= c <= "z":
            out.append(c.upper())
            upper = False
        else:
            out.append(c)
            upper = False
    return "".join(out)


def comment_text(raw):
    """A proto comment as a description: lines unwrapped into paragraphs."""
    if not raw or not raw.strip():
        return None
    paras, cur = [], []
    for line in raw.splitlines():
        line = line[1:] if line.startswith(" ") else line
        if line.strip() == "":
            if cur:
                paras.append(" ".join(cur))
                cur = []
        elif line.lstrip().startswith(("- ", "* ")) and cur:
            paras.append(" ".join(cur))
            cur = [line.strip()]
        else:
            cur.append(line.strip())
    if cur:
        paras.append(" ".join(cur))
    return "\n\n".join(p for p in paras if p) or None


class Field:
    def __init__(self, msg, proto, rules, description):
        self.msg, self.proto, self.rules, self.description = msg, proto, rules, description
        self.name = proto.name
        self.json = json_name(proto.name)
        self.repeated = proto.label == FDP.LABEL_REPEATED
        self.inherited = []  # request fields that set this one (when msg is a reply)

    def where(self):
        return f"{self.msg.full}.{self.name}"

    def element_type(self):
        """The scalar type a value (an element) is checked as, or None for a message."""
        t = self.proto.type
        if t == FDP.TYPE_MESSAGE:
            return WRAPPERS.get(self.proto.type_name)
        return t

    def is_map(self):
        m = self.msg.model.messages.get(self.proto.type_name)
        return self.repeated and m is not None and m.proto.options.map_entry


class Message:
    def __init__(self, model, full, proto, description):
        self.model, self.full, self.proto, self.description = model, full, proto, description
        self.fields = []


class Model:
    def __init__(self, fds):
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
        classes = message_factory.MessageFactory(pool).GetMessages([f.name for f in fds.file])
        self.ext = pool.FindExtensionByName(EXT)
        self.FieldOptions = classes["google.protobuf.FieldOptions"]
        self.messages, self.enums, self.methods = {}, {}, []
        for f in fds.file:
            self._file(f)

    def _rules(self, field):
        o = self.FieldOptions()
        o.ParseFromString(field.options.SerializeToString())
        return o.Extensions[self.ext] if o.HasExtension(self.ext) else None

    def _file(self, f):
        comments = {tuple(loc.path): comment_text(loc.leading_comments or loc.trailing_comments)
                    for loc in f.source_code_info.location}
        prefix = "." + f.package if f.package else ""

        def message(m, path, scope):
            full = f"{scope}.{m.name}"
            msg = Message(self, full[1:], m, comments.get(tuple(path)))
            msg.file = f.name
            self.messages[full] = msg
            for i, fld in enumerate(m.field):
                msg.fields.append(Field(msg, fld, self._rules(fld), comments.get(tuple(path + [2, i]))))
            for i, n in enumerate(m.nested_type):
                message(n, path + [3, i], full)
            for i, e in enumerate(m.enum_type):
                enum(e, path + [4, i], full)

        def enum(e, path, scope):
            full = f"{scope}.{e.name}"
            self.enums[full] = (e, comments.get(tuple(path)),
                                [(v, comments.get(tuple(path + [2, i]))) for i, v in enumerate(e.value)])

        self.opted_in = getattr(self, "opted_in", set())
        if RULES_PROTO in f.dependency:
            self.opted_in.add(f.name)
        for i, m in enumerate(f.message_type):
            message(m, [4, i], prefix)
        for i, e in enumerate(f.enum_type):
            enum(e, [5, i], prefix)
        for s in f.service:
            for m in s.method:
                self.methods.append((m.input_type, m.output_type))


# ---- checks ---------------------------------------------------------------------

def check_pattern(where, p):
    if "\\" in p:
        raise Fail(f"{where}: pattern {p!r} has a backslash, which POSIX and ECMA-262 read differently")
    if re.search(r"\(\?|\[:|\{,", p):
        raise Fail(f"{where}: pattern {p!r} uses syntax only one of POSIX ERE and ECMA-262 has")
    try:
        re.compile(p)
    except re.error as e:
        raise Fail(f"{where}: pattern {p!r} does not compile: {e}")


def check_rules(fld):
    r = fld.rules
    if r is None:
        return
    w = fld.where()
    t = fld.element_type()
    is_string = t == FDP.TYPE_STRING
    if fld.is_map():
        # A map's string rules are its values' (lib/pb/decode.c, decode_map).
        entry = fld.msg.model.messages[fld.proto.type_name].proto
        is_string = entry.field[1].type == FDP.TYPE_STRING
    is_number = t in INTS or t in REALS
    if r.required and not fld.repeated and (is_number or t == FDP.TYPE_BOOL) and fld.proto.type != FDP.TYPE_MESSAGE:
        raise Fail(f"{w}: required on a number or bool, whose 0 or false is a value")
    if (r.max_len or r.min_len or r.format or r.pattern) and not is_string:
        raise Fail(f"{w}: a length, format or pattern on a field that holds no string")
    if (r.max_items or r.item or r.items) and not fld.repeated:
        raise Fail(f"{w}: max_items, item or items on a field that is not a list")
    if (r.WhichOneof("has_min") or r.WhichOneof("has_max")) and not is_number:
        raise Fail(f"{w}: min or max on a field that holds no number")
    if r.WhichOneof("has_min") and r.WhichOneof("has_max") and r.min > r.max:
        raise Fail(f"{w}: min {r.min} is above max {r.max}")
    if r.min_len and r.max_len and r.min_len > r.max_len:
        raise Fail(f"{w}: min_len is above max_len")
    if r.pattern:
        check_pattern(w, r.pattern)
        if not r.pattern_message:
            raise Fail(f"{w}: a pattern needs a pattern_message")
    if r.pattern_message and not r.pattern:
        raise Fail(f"{w}: pattern_message without a pattern")
    if r.required_reason and not r.required:
        raise Fail(f"{w}: required_reason without required")
    if r.format and r.pattern and r.format in (4, 5, 6):
        raise Fail(f"{w}: format {r.format} brings its own pattern; declare one or the other")
    if r.text_field:
        target = fld.msg.model.messages.get(fld.proto.type_name) if fld.proto.type == FDP.TYPE_MESSAGE else None
        named = [g for g in target.fields if g.proto.name == r.text_field] if target else []
        if not named or named[0].proto.type != FDP.TYPE_STRING or named[0].repeated:
            raise Fail(f"{w}: text_field {r.text_field!r} is not a string field of the field's message")


# ---- what the document shows ----------------------------------------------------

def pair(model, out_name, in_name, depth, seen):
    out, inp = model.messages.get(out_name), model.messages.get(in_name)
    if out is None or inp is None or depth > MAX_DEPTH or (out_name, in_name) in seen:
        return
    seen.add((out_name, in_name))
    by_json = {g.json: g for g in inp.fields}
    for f in out.fields:
        g = by_json.get(f.json)
        if g is None or g is f:
            continue
        f.inherited.append(g)
        if f.proto.type == FDP.TYPE_MESSAGE and g.proto.type == FDP.TYPE_MESSAGE and not f.is_map() and not g.is_map():
            pair(model, f.proto.type_name, g.proto.type_name, depth + 1, seen)


def attr(r, name):
    """A rules attribute, or None when not declared."""
    if r is None:
        return None
    if name in ("min", "max"):
        return getattr(r, name) if r.WhichOneof("has_" + name) else None
    v = getattr(r, name)
    return v if v else None


def shown(fld):
    """The attributes the document shows: the field's own, else what every
    request field that sets it allows (the loosest of them)."""
    out = {}
    for a in VALUE_ATTRS:
        own = attr(fld.rules, a)
        if own is not None:
            out[a] = own
            continue
        srcs = [attr(g.rules, a) for g in fld.inherited]
        if not srcs or any(s is None for s in srcs):
            continue
        if a in ("max_len", "max_items", "max"):
            out[a] = max(srcs)
        elif a in ("min_len", "min"):
            out[a] = min(srcs)
        elif all(s == srcs[0] for s in srcs):
            out[a] = srcs[0]
    if "pattern" in out and "pattern_message" not in out:
        del out["pattern"]
    return out


# What a field of these names says when it says nothing itself: Parley's
# conventions (API.md), the same in every message.
CONVENTIONS = {
    "created_at": "When Parley recorded it.",
    "updated_at": "When it last changed.",
    "version": "Incremented by every change; the ETag holds it, for If-Match.",
    "items": "The page's items, in the list's stable order.",
    "next_page_token": "The pageToken of the next page; absent on the last page.",
    "page_size": "How many items a page holds: 1 to 200; 50 when absent or 0.",
    "page_token": ("The nextPageToken of the previous page; absent for the first page. Opaque and tamper-proof: "
                   "one that was changed, or another API client's, is 400."),
    "authority_id": "The authority it belongs to: every object belongs to one.",
    "given_name": "Given name (first name).",
    "family_name": "Family name (surname).",
    "case_id": "The case's id.",
    "family_id": "The family's id.",
    "child_id": "The child's id.",
    "supporter_id": "The supporter's id.",
    "offer_id": "The offer's id.",
    "email": "An email address.",
    "phone": "A telephone number (6 to 15 digits; spaces, +, ( ) and - allowed).",
}


def description(fld):
    if fld.description:
        return fld.description
    if fld.name != "id":  # a request's id is what the path names, not this object's
        for g in fld.inherited:
            if g.description:
                return g.description
    return CONVENTIONS.get(fld.name)


def check_names(fld, attrs):
    n, w = fld.name, fld.where()
    t = fld.element_type()
    if t != FDP.TYPE_STRING:
        return
    is_id = n == "id" or n.endswith("_id") or (fld.repeated and n.endswith("_ids"))
    if is_id and attrs.get("format") != FORMAT_UUID and "pattern" not in attrs:
        raise Fail(f"{w}: an id, but neither declared a UUID (format: FORMAT_UUID) nor given a pattern")
    is_date = n == "on" or n.endswith("_on") or n == "date_of_birth"
    if is_date and attrs.get("format") != FORMAT_DATE:
        raise Fail(f"{w}: a date by its name, but not declared one (format: FORMAT_DATE)")


# ---- examples -------------------------------------------------------------------------

def entity_uuid(fld):
    """The same made-up id wherever one entity is named: Family.id and
    CreateCaseRequest.family_id are one family."""
    n = fld.name
    if n == "id":
        short = fld.msg.full.rsplit(".", 1)[-1]
        ent = re.sub(r"(?<!^)([A-Z])", r"_\1", short).lower()
    else:
        ent = re.sub(r"_ids?$", "", n)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "https://parley.example/" + ent))


def enum_words(model, type_name):
    e, _, values = model.enums[type_name]
    zero = next((v.name for v, _ in values if v.number == 0), "")
    prefix = zero[: -len("UNSPECIFIED")] if zero.endswith("UNSPECIFIED") else ""
    return [(v.name[len(prefix):] if v.name.startswith(prefix) else v.name).lower()
            for v, _ in values if v.number != 0]


def example_value(model, fld, text, t):
    w = fld.where()
    try:
        if fld.proto.type == FDP.TYPE_ENUM:
            if text not in enum_words(model, fld.proto.type_name):
                raise ValueError(f"{text!r} is no word of {fld.proto.type_name[1:]}")
            return text
        if fld.proto.type_name == TIMESTAMP:
            if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", text):
                raise ValueError(f"{text!r} is no RFC 3339 time")
            return text
        if t == FDP.TYPE_STRING:
            return text
        if t == FDP.TYPE_BOOL:
            if text not in ("true", "false"):
                raise ValueError(f"{text!r} is not true or false")
            return text == "true"
        if t in INT64S:
            return str(int(text))
        if t in INTS:
            return int(text)
        if t in REALS:
            return float(text)
    except ValueError as e:
        raise Fail(f"{w}: example: {e}")
    raise Fail(f"{w}: an example for a field of this type cannot be given")


def satisfies(fld, attrs, v):
    w = fld.where()
    if isinstance(v, str) and fld.element_type() == FDP.TYPE_STRING:
        n = len(v)
        if attrs.get("max_len") and n > attrs["max_len"] or attrs.get("min_len") and n < attrs["min_len"]:
            raise Fail(f"{w}: example {v!r} breaks the field's length")
        if attrs.get("pattern") and not re.search(attrs["pattern"], v):
            raise Fail(f"{w}: example {v!r} does not match {attrs['pattern']!r}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if attrs.get("min") is not None and v < attrs["min"] or attrs.get("max") is not None and v > attrs["max"]:
            raise Fail(f"{w}: example {v} is out of the field's bounds")


class Examples:
    def __init__(self, model, attrs):
        self.model, self.attrs, self.done = model, attrs, {}

    def field_text(self, fld):
        if fld.rules is not None and fld.rules.example:
            return fld.rules.example
        if fld.name in ("id",) or fld.name.endswith(("_id", "_ids")):
            return None
        for g in fld.inherited:
            if g.rules is not None and g.rules.example:
                return g.rules.example
        return None

    def element(self, fld, depth, needed):
        """An example of one value of fld, or None."""
        attrs = self.attrs[fld.where()]
        t = fld.element_type()
        text = self.field_text(fld)
        if text is not None:
            v = example_value(self.model, fld, text, t)
            satisfies(fld, attrs, v)
            return v
        if fld.proto.type == FDP.TYPE_MESSAGE and fld.proto.type_name == TIMESTAMP:
            return EXAMPLE_TIME
        if fld.proto.type == FDP.TYPE_MESSAGE and t is None:
            sub = self.message(fld.proto.type_name, depth + 1)
            return sub if sub or needed else None
        if attrs.get("format") == FORMAT_UUID:
            return entity_uuid(fld)
        if not needed:
            return None
        if fld.proto.type == FDP.TYPE_ENUM:
            return enum_words(self.model, fld.proto.type_name)[0]
        if t == FDP.TYPE_STRING:
            if attrs.get("format") in FORMAT_EXAMPLES:
                return FORMAT_EXAMPLES[attrs["format"]]
            raise Fail(f"{fld.where()}: must appear in examples (required) but declares no example")
        if t == FDP.TYPE_BOOL:
            return False
        if t in INTS or t in REALS:
            lo = attrs.get("min")
            v = lo if lo is not None and lo > 0 else 0
            return str(v) if t in INT64S else v
        return None

    def message(self, name, depth=0):
        if name in self.done:
            return self.done[name]
        msg = self.model.messages.get(name)
        if msg is None or depth > MAX_DEPTH:
            return {}
        self.done[name] = {}  # a recursive message stops here
        out, oneofs = {}, set()
        for fld in msg.fields:
            oneof = fld.proto.HasField("oneof_index") and not fld.proto.proto3_optional
            if oneof and fld.proto.oneof_index in oneofs:
                continue
            if fld.is_map():
                continue
            always = not oneof and (fld.repeated or fld.element_type() in INTS | REALS | {FDP.TYPE_BOOL}
                                    and fld.proto.type != FDP.TYPE_MESSAGE)
            needed = always or (fld.rules is not None and fld.rules.required)
            required = fld.rules is not None and fld.rules.required
            v = self.element(fld, depth, required if fld.repeated else needed)
            if fld.repeated:
                v = [v] if v not in (None, {}) else []
                if required and not v:
                    raise Fail(f"{fld.where()}: a required list whose element has no example")
            if v is None:
                continue
            out[fld.json] = v
            if oneof:
                oneofs.add(fld.proto.oneof_index)
        self.done[name] = out
        return out


# ---- C ---------------------------------------------------------------------------

def c_str(s):
    if s is None or s == "":
        return "NULL"
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "?":
            out.append("\\?")  # no trigraphs under -std=c11
        elif ch == "\n":
            out.append("\\n")
        elif o < 0x20 or o == 0x7F:
            out.append("\\%03o" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def c_rules(r, attrs, with_required):
    flags = []
    if with_required and r is not None and r.required:
        flags.append("PB_RULE_REQUIRED")
    if attrs.get("min") is not None:
        flags.append("PB_RULE_MIN")
    if attrs.get("max") is not None:
        flags.append("PB_RULE_MAX")
    reason = r.required_reason if with_required and r is not None else None
    item = r.item if r is not None else None
    items = r.items if r is not None else None

    def lim(v):
        return "INT64_C(%d)" % v if v is not None else "0"

    text_field = r.text_field if r is not None else None
    return "{%s, %s, %s, %s, %du, %du, %du, %s, %s, %s, %s, %s, %s}" % (
        " | ".join(flags) or "0", c_str(reason), c_str(item), c_str(items), attrs.get("min_len", 0),
        attrs.get("max_len", 0), attrs.get("max_items", 0), lim(attrs.get("min")), lim(attrs.get("max")),
        FORMATS[attrs.get("format", 0)], c_str(attrs.get("pattern")), c_str(attrs.get("pattern_message")),
        c_str(text_field))


def own_attrs(r):
    return {a: v for a in VALUE_ATTRS for v in [attr(r, a)] if v is not None}


def generate(model):
    for m in model.messages.values():
        for f in m.fields:
            check_rules(f)
    for inp, outp in model.methods:
        pair(model, outp, inp, 0, set())
    attrs = {}
    for m in model.messages.values():
        for f in m.fields:
            attrs[f.where()] = shown(f)
            if m.file in model.opted_in:
                check_names(f, attrs[f.where()])
    ex = Examples(model, attrs)
    lines = ["/* Generated by tools/gen_field_rules.py from the .proto files' field rules and",
             " * comments (lib/pb/rules.h). Do not edit: edit the .proto files. */",
             "#include \"pb/rules.h\"", ""]
    entries = []
    for full in sorted(model.messages, key=lambda n: n[1:]):
        m = model.messages[full]
        if m.proto.options.map_entry:
            continue
        sym = "f_" + re.sub(r"[^A-Za-z0-9]", "_", m.full)
        fields = sorted(m.fields, key=lambda f: f.proto.number)  # protobuf-c's order
        if fields:
            lines.append(f"static const pb_field_doc_t {sym}[] = {{")
            for f in fields:
                lines.append("    {%s, %s, %s, %s}," % (c_str(f.name), c_rules(f.rules, own_attrs(f.rules), True),
                                                      c_rules(f.rules, attrs[f.where()], True),
                                                      c_str(description(f))))
            lines.append("};")
        example = None
        if not m.full.startswith("google.protobuf."):
            e = ex.message(full)
            example = json.dumps(e, ensure_ascii=False, separators=(",", ":")) if e else None
        entries.append("    {%s, %s, %s, %d, %s}," % (c_str(m.full), c_str(m.description), c_str(example),
                                                    len(fields), sym if fields else "NULL"))
    lines.append("")
    lines.append("const pb_message_doc_t pb__message_docs[] = {")
    lines += entries
    lines.append("};")
    lines.append("const size_t pb__n_message_docs = sizeof pb__message_docs / sizeof pb__message_docs[0];")
    lines.append("")
    entries = []
    for full in sorted(model.enums, key=lambda n: n[1:]):
        e, desc, values = model.enums[full]
        sym = "v_" + re.sub(r"[^A-Za-z0-9]", "_", full[1:])
        lines.append(f"static const pb_enum_value_doc_t {sym}[] = {{")
        for v, d in values:
            lines.append("    {%d, %s}," % (v.number, c_str(d)))
        lines.append("};")
        entries.append("    {%s, %s, %d, %s}," % (c_str(full[1:]), c_str(desc), len(values), sym))
    lines.append("")
    lines.append("const pb_enum_doc_t pb__enum_docs[] = {")
    lines += entries
    lines.append("};")
    lines.append("const size_t pb__n_enum_docs = sizeof pb__enum_docs / sizeof pb__enum_docs[0];")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    fds = descriptor_pb2.FileDescriptorSet()
    with open(argv[1], "rb") as fh:
        fds.ParseFromString(fh.read())
    try:
        text = generate(Model(fds))
    except Fail as e:
        print(f"gen_field_rules: {e}", file=sys.stderr)
        return 1
    with open(argv[2], "w", encoding="utf-8") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

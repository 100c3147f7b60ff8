"""Letters as PDF, end to end: notify lays each letter out itself (Pango and
Cairo), posts it as a precompiled letter to a local stand-in of the GOV.UK
Notify API (notify_api_stand_in.py, which checks the JWT and keeps the PDF),
and the tests read the PDF the stand-in received: its text (pdftotext,
Debian's poppler-utils), its type sizes (python3-pdfminer) and where its
words are (pdftotext -bbox)."""
import re
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTTextContainer, LTTextLine

from conftest import wait_for
from notify_helpers import mail_sink_stand_in_and_notify, put_template

PT_PER_MM = 72 / 25.4
# GOV.UK Notify's precompiled letter specification: the address block a DL
# window shows, and where the body may start on page 1 (mm from the top-left).
WINDOW = (24.6, 40.0, 120.0, 66.2)
BODY_TOP_MM = 95.0

TEMPLATE = {
    "translations": [
        {"language": "en", "subject": "We have your request, ((name))",
         "body": "Hello ((name)), your case reference is ((ref)).\nWe will write again within 5 working days."},
        {"language": "en", "format": "large_print", "subject": "Your request, ((name))",
         "body": "Hello ((name)). Your case is ((ref)).\nWe will write again soon."},
        {"language": "cy", "subject": "Mae gennym eich cais, ((name))",
         "body": "Annwyl ((name)), bydd yr ŵyl yn dechrau'n fuan; mae'r ŷd yn barod. Rhif: ((ref))."},
        {"language": "pl", "subject": "Otrzymaliśmy Twoją prośbę, ((name))",
         "body": "Dzień dobry ((name)), zażółć gęślą jaźń w Łodzi. Numer sprawy: ((ref))."},
        {"language": "ur", "subject": "((name)) آپ کی درخواست",
         "body": "السلام علیکم ((name))، ہم پانچ دن میں فون کریں گے۔\nا ب پ ت ٹ"},
    ]
}


@pytest.fixture(scope="module")
def providers():
    yield from mail_sink_stand_in_and_notify()


def postcode():
    """A real-shaped postcode of its own for each letter (CF10 to CF99)."""
    return f"CF{10 + uuid.uuid4().int % 90} {uuid.uuid4().int % 10}AB"


def address(lines=None, code=None):
    return {"lines": lines or ["Agnieszka Nowak", "12 Heol y Frenhines", "Caerdydd"], "postcode": code or postcode()}


def letter_body(authority, key, language="en", fmt="standard", channels=("letter",), data=None, **recipient):
    to = {"language": language, "format": fmt, "address": address(), **recipient}
    return {"authorityId": authority, "template": key, "data": data or {"name": "Agnieszka", "ref": "R-12"},
            "recipient": to, "category": "case_updates", "channels": list(channels)}


def create(api, body):
    r = api.post("/v1/notifications", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 202, r.text
    return r.json()


def settled(api, notification_id, timeout=30):
    got = {}

    def done():
        got["n"] = api.get(f"/v1/notifications/{notification_id}").json()
        return got["n"]["status"] != "pending"
    assert wait_for(done, timeout=timeout), got
    return got["n"]


def attempts(n):
    return [(a["channel"], a["status"]) for a in n["attempts"]]


def pdf_of(stand_in, notification_id):
    msgs = [m for m in stand_in.sent(notification_id) if m["type"] == "letter"]
    assert len(msgs) == 1, f"one letter posted for {notification_id}: {len(msgs)}"
    path = Path(tempfile.mkdtemp()) / "letter.pdf"
    path.write_bytes(msgs[0]["pdf"])
    return path


def text_of(path):
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def flat(s):
    return " ".join(s.split())


def words(path):
    """Every word of the PDF with its box in points, page by page: [(page, text, xmin, ymin, xmax, ymax)]."""
    html = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    out, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if m:
            out.append((page, m.group(5), *map(float, m.group(1, 2, 3, 4))))
    return out


def line_sizes(path):
    """Each text line of the PDF with the type sizes of its characters: [(text, {sizes})]."""
    out = []
    for page in extract_pages(str(path)):
        for box in page:
            if isinstance(box, LTTextContainer):
                for line in box:
                    if isinstance(line, LTTextLine):
                        out.append((line.get_text().strip(), {round(c.size, 1) for c in line if isinstance(c, LTChar)}))
    return out


def test_a_large_print_letter_is_the_template_in_at_least_16_pt(providers, cw_a, authority_a, db):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    n = create(cw_a, letter_body(authority_a, key, fmt="large_print"))
    assert (n["channel"], n["channels"], n["format"], n["letterPages"], n["letterFontSize"]) == (
        "letter", ["letter"], "large_print", 1, 16), n
    assert n["recipient"]["address"]["lines"] == ["Agnieszka Nowak", "12 Heol y Frenhines", "Caerdydd"]
    got = settled(cw_a, n["id"])
    assert got["status"] == "delivered" and attempts(got) == [("letter", "delivered")], got
    assert not api.auth_failures, api.auth_failures
    path = pdf_of(api, n["id"])
    text = flat(text_of(path))
    assert "Your request, Agnieszka" in text
    assert "Hello Agnieszka. Your case is R-12. We will write again soon." in text, text
    assert api.messages[got["attempts"][0]["providerId"]]["reference"] == n["id"]
    body_lines = [(t, s) for t, s in line_sizes(path) if t.startswith("Hello") or t.startswith("We will")]
    assert body_lines and all(min(s) >= 16 for t, s in body_lines), body_lines
    # The standard format is about 12 pt: the large print is the format's doing.
    std = create(cw_a, letter_body(authority_a, key))
    assert settled(cw_a, std["id"])["status"] == "delivered"
    sizes = [s for t, s in line_sizes(pdf_of(api, std["id"])) if t.startswith("Hello")]
    assert sizes and max(sizes[0]) < 16, sizes
    # The PDF (personal data) is kept only until the notification ends; the address stays.
    with db.cursor() as c:
        c.execute("SELECT letter_pdf IS NULL, address_lines, letter_pages FROM notify.notifications WHERE id = %s",
                  (n["id"],))
        assert c.fetchone() == (True, ["Agnieszka Nowak", "12 Heol y Frenhines", "Caerdydd"], 1)


def test_an_urdu_letter_reads_right_to_left(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    n = create(cw_a, letter_body(authority_a, key, language="ur", data={"name": "عائشہ", "ref": "R-7"}))
    assert n["language"] == "ur"
    assert settled(cw_a, n["id"])["status"] == "delivered"
    path = pdf_of(api, n["id"])
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    assert "NotoNastaliqUrdu" in fonts, fonts
    ws = words(path)
    # The letters of "ا ب پ ت ٹ", each a word, in reading order: each left of the one before.
    letters = "ا ب پ ت ٹ".split()
    rows = {}
    for page, text, x0, y0, x1, y1 in ws:
        if y0 > BODY_TOP_MM * PT_PER_MM:
            rows.setdefault((page, round(y1)), []).append((text, x0, x1))
    # Their line: the one that holds the five alone (the sentence above has letters of them inside words).
    line, = [r for r in rows.values() if sorted(t for t, _, _ in r) == sorted(letters)]
    at = {t: (x0, x1) for t, x0, x1 in line}
    order = [at[t] for t in letters]
    assert [x for x, _ in order] == sorted((x for x, _ in order), reverse=True), order
    # Set against the right edge of the body (190 mm), as a right-to-left paragraph is.
    assert abs(order[0][1] - 190 * PT_PER_MM) < 2, order
    assert order[-1][0] > 105 * PT_PER_MM, order


def test_the_address_lands_inside_the_envelope_window(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    lines = ["Mrs Agnieszka Nowak-Kowalska", "Flat 3, Tŷ Gwyn", "12 Heol y Frenhines", "Treganna",
             "Caerdydd", "Wales"]
    code = postcode()
    body = letter_body(authority_a, key, fmt="large_print")
    body["recipient"]["address"] = {"lines": lines, "postcode": code.lower().replace(" ", "")}
    n = create(cw_a, body)
    assert n["recipient"]["address"]["postcode"] == code, "stored and printed normalised"
    assert settled(cw_a, n["id"])["status"] == "delivered"
    path = pdf_of(api, n["id"])
    left, top, right, bottom = (v * PT_PER_MM for v in WINDOW)
    address_words = {w for line in lines + [code] for w in line.split()}
    page1 = [w for w in words(path) if w[0] == 1]
    inside = [w for w in page1 if w[2] >= left and w[4] <= right and w[3] >= top and w[5] <= bottom]
    assert {w[1] for w in inside} == address_words, (inside, address_words)
    assert len(inside) == sum(len(line.split()) for line in lines + [code])
    # Nothing else on the page's left above the body; the body starts at 95 mm.
    others = [w for w in page1 if w not in inside and w[2] < 125 * PT_PER_MM]
    assert others and all(w[3] >= BODY_TOP_MM * PT_PER_MM - 0.5 for w in others), others


def test_welsh_and_polish_diacritics_come_out_as_text(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    cy = create(cw_a, letter_body(authority_a, key, language="cy", data={"name": "Siân", "ref": "R-3"}))
    pl = create(cw_a, letter_body(authority_a, key, language="pl", data={"name": "Małgorzata", "ref": "R-4"}))
    for n in (cy, pl):
        assert settled(cw_a, n["id"])["status"] == "delivered"
    text = flat(text_of(pdf_of(api, cy["id"])))
    assert "Mae gennym eich cais, Siân" in text
    assert "Annwyl Siân, bydd yr ŵyl yn dechrau'n fuan; mae'r ŷd yn barod. Rhif: R-3." in text, text
    text = flat(text_of(pdf_of(api, pl["id"])))
    assert "Otrzymaliśmy Twoją prośbę, Małgorzata" in text
    assert "Dzień dobry Małgorzata, zażółć gęślą jaźń w Łodzi. Numer sprawy: R-4." in text, text


def test_a_letter_the_provider_rejects_permanently_ends_failed_with_the_attempt(providers, cw_a, authority_a, db):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    body = letter_body(authority_a, key)
    api.rejected_postcodes.add(body["recipient"]["address"]["postcode"])
    n = create(cw_a, body)
    got = settled(cw_a, n["id"])
    assert got["status"] == "failed", got
    assert attempts(got) == [("letter", "permanent_failure")], got
    assert "400" in got["attempts"][0]["error"] and "ValidationError" in got["attempts"][0]["error"], got
    assert "postcode" in got["failureReason"], got
    assert [p[2] for p in api.posts_for(n["id"])] == [400], "refused once, not retried"
    with db.cursor() as c:
        c.execute("SELECT letter_pdf IS NULL FROM notify.notifications WHERE id = %s", (n["id"],))
        assert c.fetchone() == (True,)


def test_an_sms_the_provider_rejects_is_posted_as_a_letter_instead(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    number = f"+44 7700 9{uuid.uuid4().int % 100000:05d}"
    api.rejected.add(number)
    n = create(cw_a, letter_body(authority_a, key, channels=("sms", "letter"), phone=number))
    got = settled(cw_a, n["id"])
    assert (got["status"], got["channel"]) == ("delivered", "letter"), got
    assert attempts(got) == [("sms", "permanent_failure"), ("letter", "delivered")], got
    assert "Hello Agnieszka, your case reference is R-12." in flat(text_of(pdf_of(api, n["id"])))


def test_bad_address_input_is_400_naming_the_field_and_nothing_is_stored(providers, cw_a, authority_a, db):
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]

    def refused(recipient_address, field, channels=("letter",), data=None):
        body = letter_body(authority_a, key, channels=channels, data=data)
        if recipient_address is None:
            del body["recipient"]["address"]
        else:
            body["recipient"]["address"] = recipient_address
        r = cw_a.post("/v1/notifications", body)
        assert r.status_code == 400, r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.text
        return r.json()

    refused(None, "recipient.address")
    refused(address(code="ZZ1 1ZZ"), "recipient.address.postcode")   # Z cannot be a second letter
    refused(address(code="CF10 1AC"), "recipient.address.postcode")  # nor C in the inward code
    refused(address(code="not a postcode"), "recipient.address.postcode")
    refused({"lines": ["Agnieszka Nowak"], "postcode": postcode()}, "recipient.address.lines")
    refused({"lines": ["a", "b", "c", "d", "e", "f", "g"], "postcode": postcode()}, "recipient.address.lines")
    refused(address(lines=["Agnieszka\nNowak", "12 High Street"]), "recipient.address.lines[0]")
    refused(address(lines=["Agnieszka Nowak", "W" * 40]), "recipient.address.lines[1]")  # wider than the window
    refused(address(lines=["Agnieszka Nowak", "x" * 46]), "recipient.address.lines[1]")
    # A body that would take more than 10 pages is refused, saying so.
    err = refused(address(), "data", data={"name": "Agnieszka", "ref": "R\n" * 999})
    assert "10 pages" in str(err), err
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM notify.notifications WHERE authority_id = %s", (authority_a,))
        assert c.fetchone()[0] == 0


def test_a_long_letter_breaks_onto_numbered_pages_below_the_window(providers, cw_a, authority_a):
    sink, api = providers
    long = {"translations": [{"language": "en", "subject": "What happens next, ((name))", "body": "((a))\n((b))\n((c))"}]}
    key = put_template(cw_a, authority_a, body=long)["key"]
    part = {k: "\n".join(f"Paragraph {i}: what happens next, and who to call." for i in range(1 + 40 * j, 37 + 40 * j))
            for j, k in enumerate("abc")}
    n = create(cw_a, letter_body(authority_a, key, fmt="large_print", data={"name": "Agnieszka", **part}))
    assert n["letterPages"] > 2, n
    assert settled(cw_a, n["id"])["status"] == "delivered"
    path = pdf_of(api, n["id"])
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+(\d+)", info).group(1) == str(n["letterPages"]), info
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+", info), "A4"
    text = flat(text_of(path))
    pages = n["letterPages"]
    numbers = re.findall(r"(?<![\d:])(\d+) ?/ ?(\d+)(?!\d)", text)
    assert numbers == [(str(p), str(pages)) for p in range(1, pages + 1)], numbers
    # Every paragraph once, in order, none lost at a page break.
    at = [text.index(f"Paragraph {i}:") for j in range(3) for i in range(1 + 40 * j, 37 + 40 * j)]
    assert at == sorted(at)
    # Page 1's body starts below 95 mm; no word of any page leaves the printable border.
    for page, w, x0, y0, x1, y1 in words(path):
        assert 15 * PT_PER_MM - 0.5 <= x0 and x1 <= 195 * PT_PER_MM + 0.5, (page, w, x0, x1)
        assert 5 * PT_PER_MM <= y0 and y1 <= 292 * PT_PER_MM, (page, w, y0, y1)


def test_letters_rendered_at_once_by_several_handler_threads_are_each_their_own(providers, cw_a, authority_a):
    sink, api = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    names = [f"Parent{i:02d}" for i in range(12)]
    langs = ["en", "ur", "cy", "pl"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(lambda i: create(cw_a, letter_body(authority_a, key, language=langs[i % 4],
                                                                  data={"name": names[i], "ref": f"R-{i}"})),
                             range(len(names))))
    for i, n in enumerate(made):
        assert settled(cw_a, n["id"], timeout=60)["status"] == "delivered", n
        text = text_of(pdf_of(api, n["id"]))
        assert names[i] in text, (i, text)
        assert not [other for other in names if other != names[i] and other in text], (i, text)


def test_a_letter_to_a_person_goes_to_the_address_on_their_record(providers, cw_a, authority_a):
    """A personId recipient whose preferences name letter: the letter is laid
    out for the address intake holds for the parent (their name first), and
    an address given with a personId is a 400 naming it."""
    from conftest import family_body
    _, stand_in = providers
    key = put_template(cw_a, authority_a, body=TEMPLATE)["key"]
    body = family_body(authority_a)
    code = postcode()
    body["parents"][0]["address"] = {"line1": "7 Stryd y Castell", "town": "Abertawe", "postcode": code}
    fam = cw_a.post("/v1/families", body)
    assert fam.status_code == 201, fam.text
    parent = fam.json()["parents"][0]
    r = cw_a.s.put(f"{cw_a.base}/v1/contacts/{parent['id']}/preferences", json={"channels": ["letter"]}, timeout=10)
    assert r.status_code in (200, 201), r.text
    to_person = {"authorityId": authority_a, "template": key, "data": {"name": "Amina", "ref": "R-7"},
                 "recipient": {"personId": parent["id"], "language": "en"}, "category": "case_updates"}
    refused = cw_a.post("/v1/notifications", {**to_person, "recipient": {**to_person["recipient"],
                                                                          "address": address()}})
    assert refused.status_code == 400 and "recipient.address" in [e["field"] for e in refused.json()["errors"]], \
        refused.text
    n = settled(cw_a, create(cw_a, to_person)["id"])
    assert (n["status"], n["channel"]) == ("delivered", "letter"), n
    text = flat(text_of(pdf_of(stand_in, n["id"])))
    assert f"Amina {parent['familyName']} 7 Stryd y Castell Abertawe {code}" in text, text

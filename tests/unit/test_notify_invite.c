/* notify's invitation addressed to its recipient when sent (invite.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "services/notify/invite.h"

#define SUPPORTER "0f0e3c52-7f7e-4b1e-9a3e-2f5d8f1c9a01"
#define PARENT "5b6a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"

/* As scheduling writes one (ical.c): the supporter by their calendar's
 * owner id, the parent by a URN of the appointment, the school by email. */
static const char ICS[] =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Parley//Scheduling//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:a1@parley\r\nSEQUENCE:0\r\nDTSTAMP:20270301T090000Z\r\n"
    "DTSTART:20270301T100000Z\r\nDTEND:20270301T110000Z\r\nSUMMARY:Annual review\r\n"
    "ORGANIZER:mailto:sendiass@parley.invalid\r\n"
    "ATTENDEE;CN=Samira Patel;ROLE=REQ-PARTICIPANT:urn:uuid:" SUPPORTER "\r\n"
    "ATTENDEE;CN=Agnieszka Nowak;ROLE=CHAIR:urn:x-parley:a1:participant:1\r\n"
    "ATTENDEE;CN=Riverside SENCO;ROLE=OPT-PARTICIPANT:mailto:senco@school.example\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n";

/* The text with its folded lines joined (RFC 5545 3.1: CRLF then a space),
 * in the arena, so a search does not depend on where libical folded. */
static const char *unfold(arena_t *a, const char *s) {
    if (s == NULL) return NULL;
    char *out = arena_alloc(a, strlen(s) + 1), *w = out;
    for (const char *p = s; *p; p++) {
        if (p[0] == '\r' && p[1] == '\n' && p[2] == ' ') {
            p += 2;
            continue;
        }
        *w++ = *p;
    }
    *w = '\0';
    return out;
}

static size_t count(const char *s, const char *what) {
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void test_a_supporter_s_attendee_becomes_their_address(void **state) {
    (void)state;
    arena_t *a = arena_new();
    const char *out = unfold(a, invite_addressed(a, ICS, SUPPORTER, "samira@example.org", "Samira Patel"));
    assert_non_null(out);
    assert_non_null(strstr(out, "mailto:samira@example.org"));
    assert_null(strstr(out, "urn:uuid:" SUPPORTER));
    assert_int_equal(count(out, "ATTENDEE"), 3); /* replaced, not added */
    assert_non_null(strstr(out, "UID:a1@parley"));
    assert_non_null(strstr(out, "mailto:senco@school.example"));
    arena_destroy(&a);
}

static void test_a_person_not_on_it_is_added_as_a_required_attendee(void **state) {
    (void)state;
    arena_t *a = arena_new();
    const char *out = unfold(a, invite_addressed(a, ICS, PARENT, "agnieszka@example.org", "Agnieszka Nowak"));
    assert_non_null(out);
    assert_int_equal(count(out, "ATTENDEE"), 4);
    const char *mine = strstr(out, "mailto:agnieszka@example.org");
    assert_non_null(mine);
    /* Its own property line (possibly folded), with their name and role. */
    const char *line = out;
    for (const char *p = out; p < mine; p++)
        if (p[0] == '\n' && p[1] != ' ') line = p + 1;
    assert_true(strncmp(line, "ATTENDEE", 8) == 0);
    assert_non_null(strstr(line, "CN=Agnieszka Nowak"));
    assert_non_null(strstr(line, "ROLE=REQ-PARTICIPANT"));
    assert_non_null(strstr(out, "urn:uuid:" SUPPORTER)); /* the others as they were */
    arena_destroy(&a);
}

static void test_bad_input_gives_null_and_never_a_header_or_property_injection(void **state) {
    (void)state;
    arena_t *a = arena_new();
    assert_null(invite_addressed(a, "not a calendar", SUPPORTER, "x@example.org", NULL));
    assert_null(invite_addressed(a, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", SUPPORTER,
                                 "x@example.org", NULL));
    assert_null(invite_addressed(a, ICS, SUPPORTER, "x@example.org\r\nATTENDEE:mailto:evil@example.org", NULL));
    assert_null(invite_addressed(a, ICS, SUPPORTER, "a\"b@example.org", NULL));
    assert_null(invite_addressed(a, ICS, SUPPORTER, "no-at-sign", NULL));
    assert_null(invite_addressed(a, NULL, SUPPORTER, "x@example.org", NULL));
    /* A name with a line break or a quote cannot break out of CN. */
    const char *out =
        unfold(a, invite_addressed(a, ICS, PARENT, "p@example.org", "Eve\r\nATTENDEE:mailto:evil@example.org"));
    if (out != NULL) assert_null(strstr(out, "\nATTENDEE:mailto:evil"));
    arena_destroy(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_supporter_s_attendee_becomes_their_address),
        cmocka_unit_test(test_a_person_not_on_it_is_added_as_a_required_attendee),
        cmocka_unit_test(test_bad_input_gives_null_and_never_a_header_or_property_injection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

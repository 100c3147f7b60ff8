/* lib/core/log: every line is one valid JSON object, whatever bytes the
 * message or the request id hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* Logs one line with stderr sent to a file; returns the line parsed. */
static json_t *logged(const char *request_id, const char *msg) {
    fflush(stderr);
    int saved = dup(2);
    FILE *f = tmpfile();
    assert_non_null(f);
    dup2(fileno(f), 2);
    log_info(request_id, "%s", msg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char line[4096] = "";
    rewind(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    json_error_t err;
    json_t *j = json_loads(line, 0, &err); /* jansson refuses invalid UTF-8 */
    if (j == NULL) fail_msg("not JSON: %s (%s)", line, err.text);
    return j;
}

static void test_invalid_utf8_becomes_the_replacement_character(void **state) {
    (void)state;
    json_t *j = logged("rid\xff", "GET /v1/caf\xe9 \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 ok");
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "GET /v1/caf\xef\xbf\xbd \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok");
    assert_string_equal(json_string_value(json_object_get(j, "requestId")), "rid\xef\xbf\xbd");
    json_decref(j);
}

static void test_valid_utf8_and_control_characters_survive(void **state) {
    (void)state;
    json_t *j = logged(NULL, "Zażółć \xd8\xa7\xd8\xb1\xd8\xaf\xd9\x88 \"q\" \\ line\nnext\x01\x7f");
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "Zażółć \xd8\xa7\xd8\xb1\xd8\xaf\xd9\x88 \"q\" \\ line\nnext\x01\x7f");
    assert_null(json_object_get(j, "requestId"));
    json_decref(j);
}

int main(void) {
    log_init("test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8_becomes_the_replacement_character),
        cmocka_unit_test(test_valid_utf8_and_control_characters_survive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

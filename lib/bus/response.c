/* The handler's side of a reply: error codes, field violations, code names. */
#include <stdarg.h>
#include <string.h>

#include "bus/bus.h"
#include "bus/problems.h"

void bus_response_error(bus_response_t *res, bus_code_t code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = arena_vprintf(res->arena, fmt, ap);
    va_end(ap);
    res->status.code = code;
    res->status.reason = "";
    /* Out of memory still leaves the code set: the caller learns what failed. */
    res->status.message = msg != NULL ? msg : (char *)bus_code_name(code);
}

void bus_response_problem(bus_response_t *res, bus_problem_t problem, const char *fmt, ...) {
    const bus_problem_info_t *p = bus_problem_info(problem);
    /* A cause without a service status is the gateway's own: internal here. */
    bus_code_t code = p != NULL && p->grpc >= 0 ? (bus_code_t)p->grpc : PARLEY__COMMON__V1__CODE__CODE_INTERNAL;
    char *msg = NULL;
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        msg = arena_vprintf(res->arena, fmt, ap);
        va_end(ap);
    }
    res->status.code = code;
    res->status.message = msg != NULL ? msg : (char *)(p != NULL ? p->detail : bus_code_name(code));
    res->status.reason = p != NULL ? (char *)p->word : "";
}

void bus_response_reason(bus_response_t *res, bus_problem_t problem) {
    const bus_problem_info_t *p = bus_problem_info(problem);
    res->status.reason = p != NULL ? (char *)p->word : "";
}

/* Makes room for one more violation. The array lives in the arena and has
 * no stored capacity: it holds max(4, the next power of two >= n) slots, so
 * it is full exactly when n is 0 or a power of two from 4 up, and doubling
 * then keeps n additions at O(n) copies. */
static int violations_reserve(bus_response_t *res) {
    size_t n = res->status.n_violations;
    bool full = n == 0 || (n >= 4 && (n & (n - 1)) == 0);
    if (!full) return 0;
    size_t cap = n == 0 ? 4 : n * 2;
    Parley__Common__V1__FieldViolation **grown = arena_alloc(res->arena, cap * sizeof *grown);
    if (grown == NULL) return -1;
    if (n > 0) memcpy(grown, res->status.violations, n * sizeof *grown);
    res->status.violations = grown;
    return 0;
}

void bus_response_violation(bus_response_t *res, const char *field, const char *fmt, ...) {
    res->status.code = PARLEY__COMMON__V1__CODE__CODE_INVALID_ARGUMENT;
    if (res->status.message == NULL || res->status.message[0] == '\0')
        res->status.message = "invalid request";

    va_list ap;
    va_start(ap, fmt);
    char *description = arena_vprintf(res->arena, fmt, ap);
    va_end(ap);
    Parley__Common__V1__FieldViolation *v = arena_alloc(res->arena, sizeof *v);
    char *path = arena_strdup(res->arena, field);
    if (description == NULL || v == NULL || path == NULL || violations_reserve(res) != 0) return;
    parley__common__v1__field_violation__init(v);
    v->field = path;
    v->description = description;
    res->status.violations[res->status.n_violations++] = v;
}

const char *bus_code_name(bus_code_t code) {
    static const char *names[] = {
        "OK",           "CANCELLED",         "UNKNOWN",         "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS",  "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",     "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if ((unsigned)code < sizeof names / sizeof names[0]) return names[code];
    return "UNKNOWN";
}

#include "gateway/problems.h"

#include <ctype.h>
#include <string.h>

#include "gateway/http.h"

static const problem_kind_t kinds[] = {
    {400, "The request is not valid: malformed JSON, an unknown or read-only field, a value of the wrong type, "
          "a bad enum word or a missing required value. `errors` names each field by its JSON path "
          "(`parents[0].email`) with a message; nothing was stored."},
    {401, "No API key was sent, or the key is not valid (unknown, malformed or revoked). The answer carries "
          "`WWW-Authenticate: Bearer`."},
    {403, "The API client's roles do not admit this route."},
    {404, "No such route, or no such object among those of the authorities this API client serves. An object of "
          "another authority is indistinguishable from one that does not exist."},
    {405, "The path exists but not with this method; `Allow` lists the methods it has."},
    {408, "The body did not all arrive within the gateway's body deadline (`PARLEY_HTTP_BODY_TIMEOUT_MS`); "
          "nothing was done, and the connection is closed."},
    {409, "The request conflicts with the state of the object, or a request with the same `Idempotency-Key` is "
          "still in flight: try again once it has finished."},
    {412, "`If-Match` names a version that is no longer current: read the object again (its `ETag`) and reapply "
          "the change."},
    {413, "The body is larger than 1 MiB."},
    {415, "The body is not `application/json` (optionally with `charset=utf-8`)."},
    {422, "The `Idempotency-Key` was used before with a different body."},
    {429, "The API client is over its rate limit; `Retry-After` says how many seconds to wait."},
    {431, "The request has more than 64 header lines; the connection is closed."},
    {500, "Something failed inside Parley. The `requestId` lets an operator find what happened in the logs."},
    {501, "The route is known but its service does not implement it yet."},
    {503, "A service, the message bus, PostgreSQL or Redis cannot answer right now; nothing was lost. Retry after "
          "`Retry-After` seconds."},
    {504, "A service did not answer before the request's deadline; its effect, if any, is unknown: repeat a POST "
          "with the same `Idempotency-Key` to find out safely."},
};

const problem_kind_t *problems_table(size_t *n) {
    *n = sizeof kinds / sizeof kinds[0];
    return kinds;
}

const problem_kind_t *problems_find(int status) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].status == status) return &kinds[i];
    return NULL;
}

/* The same rule http_problem applies to the reason phrase. */
const char *problems_slug(int status, char *buf, size_t cap) {
    if (cap == 0) return buf;
    const char *title = http_reason(status);
    size_t n = 0;
    for (; title[n] != '\0' && n + 1 < cap; n++)
        buf[n] = title[n] == ' ' ? '-' : (char)tolower((unsigned char)title[n]);
    buf[n] = '\0';
    return buf;
}

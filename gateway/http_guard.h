/* http_guard — refuses requests whose framing two HTTP parsers could read
 * differently, before anything acts on them (request smuggling, headers
 * silently dropped). CivetWeb 1.15 is lenient: it takes "Name : value",
 * lets a folded or malformed line end the header block without a word,
 * keeps only the first 64 headers, reads "Content-Length: +2" as 2, and
 * processes a request that has both Content-Length and Transfer-Encoding.
 *
 * What CivetWeb parsed still lies in its request buffer, with the bytes it
 * replaced by NUL where colons, spaces and line ends were; the guard reads
 * that layout (see http_guard.c) to see what the parsed fields no longer
 * say. Every refusal closes the connection.
 */
#ifndef PARLEY_GATEWAY_HTTP_GUARD_H
#define PARLEY_GATEWAY_HTTP_GUARD_H

struct mg_request_info;

typedef struct {
    int status;         /* 0 when the request may go on; else 400, 431 or 501 */
    const char *detail; /* static text for the problem, when status is set */
} http_guard_t;

/* Checks the request line and headers of ri. */
http_guard_t http_guard_check(const struct mg_request_info *ri);

/* Whether the request says a body follows (Content-Length > 0, or chunked). */
int http_guard_has_body(const struct mg_request_info *ri);

#endif

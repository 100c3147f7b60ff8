/* ids — UUIDs (RFC 9562 version 4, from OpenSSL's CSPRNG) and their checks. */
#ifndef PARLEY_CORE_IDS_H
#define PARLEY_CORE_IDS_H

#include <stdbool.h>

#define IDS_UUID_LEN 36 /* without the terminating NUL */

/* Writes a new random UUID, lowercase, NUL-terminated, into out[37].
 * Returns 0, or -1 when the CSPRNG fails (out is then empty). */
int ids_uuid_new(char out[IDS_UUID_LEN + 1]);

/* Whether s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
bool ids_is_uuid(const char *s);

#endif

/* roles — the six roles of ARCHITECTURE.md, and the data protection
 * officer's, as a bit set. */
#ifndef PARLEY_GATEWAY_ROLES_H
#define PARLEY_GATEWAY_ROLES_H

#include <stddef.h>

typedef enum {
    ROLE_CONSORTIUM_ADMIN = 1u << 0,
    ROLE_CASEWORKER = 1u << 1,
    ROLE_SUPPORTER = 1u << 2,
    ROLE_PARTNER_AGENCY = 1u << 3,
    ROLE_TRAINER = 1u << 4,
    ROLE_ANALYST = 1u << 5,
    /* A data protection officer reads the audit trail of its authorities,
     * and nothing else: it is in no route's roles but GET /v1/audit's, not
     * even ROLE_ANY's. */
    ROLE_DPO = 1u << 6,
} role_t;

/* Every role that works with the service's records (not ROLE_DPO). */
#define ROLE_ANY 0x3fu
/* Every role bit there is. */
#define ROLE_ALL 0x7fu

/* The role named name ("caseworker"), or 0 when there is none. */
unsigned roles_from_name(const char *name);

/* The name of a single role bit, or NULL. Static storage. */
const char *roles_name(unsigned role);

/* The set named by n role names; *unknown is set to the first name that is
 * not a role (NULL when all are). */
unsigned roles_from_names(char *const *names, size_t n, const char **unknown);

#endif

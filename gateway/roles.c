#include "gateway/roles.h"

#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} role_names[] = {
    {ROLE_CONSORTIUM_ADMIN, "consortium_admin"},
    {ROLE_CASEWORKER, "caseworker"},
    {ROLE_SUPPORTER, "supporter"},
    {ROLE_PARTNER_AGENCY, "partner_agency"},
    {ROLE_TRAINER, "trainer"},
    {ROLE_ANALYST, "analyst"},
    {ROLE_DPO, "dpo"},
};

unsigned roles_from_name(const char *name) {
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(role_names[i].name, name) == 0) return role_names[i].bit;
    return 0;
}

const char *roles_name(unsigned role) {
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (role_names[i].bit == role) return role_names[i].name;
    return NULL;
}

unsigned roles_from_names(char *const *names, size_t n, const char **unknown) {
    unsigned set = 0;
    *unknown = NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned bit = roles_from_name(names[i]);
        if (bit == 0 && *unknown == NULL) *unknown = names[i];
        set |= bit;
    }
    return set;
}

/* The table of causes (contract in problems.h). */
#include "bus/problems.h"

#include <string.h>

static const bus_problem_info_t table[] = {
#define BUS_PROBLEM_ROW_(name, word, grpc, http, dflt, detail, meaning) {word, grpc, http, dflt, detail, meaning},
    BUS_PROBLEMS(BUS_PROBLEM_ROW_)
#undef BUS_PROBLEM_ROW_
};

const bus_problem_info_t *bus_problem_info(bus_problem_t p) {
    if (p <= BUS_PROBLEM_NONE || p >= BUS_PROBLEM_COUNT) return NULL;
    return &table[p - 1];
}

const bus_problem_info_t *bus_problems(size_t *n) {
    *n = sizeof table / sizeof table[0];
    return table;
}

const bus_problem_info_t *bus_problem_default(int http_status) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].http == http_status && table[i].is_default) return &table[i];
    return NULL;
}

const bus_problem_info_t *bus_problem_by_word(const char *word) {
    for (size_t i = 0; word != NULL && i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].word, word) == 0) return &table[i];
    return NULL;
}

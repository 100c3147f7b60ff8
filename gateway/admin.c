/* parley-admin: operator commands against the gateway's database.
 *
 *   parley-admin seed     creates the demo consortium, two authorities and
 *                         four API clients; prints KEY=value lines (the keys
 *                         are shown this once and stored only hashed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "gateway/auth.h"
#include "gateway/keys.h"

static const db_stmt_t admin_stmts[] = {
    {"ins_consortium", "INSERT INTO consortia (id, name) VALUES ($1, $2)"},
    {"ins_authority", "INSERT INTO authorities (id, consortium_id, code, name) VALUES ($1, $2, $3, $4)"},
    {"ins_client",
     "INSERT INTO api_clients (id, consortium_id, name, key_hash, roles, authority_ids)"
     " VALUES ($1, $2, $3, $4, $5::text[], $6::uuid[])"},
};

/* Creates a client; writes its key into key. Returns 0 or -1. */
static int create_client(db_t *db, const char *consortium, const char *name, const char *roles,
                         const char *authorities, char key[KEYS_LEN + 1]) {
    char id[IDS_UUID_LEN + 1], hex[KEYS_HASH_LEN * 2 + 1];
    unsigned char hash[KEYS_HASH_LEN];
    size_t slen;
    const unsigned char *secret = auth_secret(&slen);
    if (ids_uuid_new(id) != 0 || keys_generate(id, key) != 0 || keys_hash(secret, slen, key, hash) != 0) return -1;
    for (int i = 0; i < KEYS_HASH_LEN; i++) snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    const char *params[] = {id, consortium, name, hex, roles, authorities};
    return db_exec(db, "ins_client", 6, params, NULL);
}

static int seed(db_t *db) {
    char consortium[37], a[37], b[37], auths[80], only_a[40], only_b[40];
    char k_admin[KEYS_LEN + 1], k_cw_a[KEYS_LEN + 1], k_cw_b[KEYS_LEN + 1], k_partner[KEYS_LEN + 1];
    if (ids_uuid_new(consortium) || ids_uuid_new(a) || ids_uuid_new(b)) return -1;
    snprintf(auths, sizeof auths, "{%s,%s}", a, b);
    snprintf(only_a, sizeof only_a, "{%s}", a);
    snprintf(only_b, sizeof only_b, "{%s}", b);
    const char *pc[] = {consortium, "Demo SENDIASS Consortium"};
    const char *pa[] = {a, consortium, "E09000033", "Westminster"};
    const char *pb[] = {b, consortium, "E09000020", "Kensington and Chelsea"};
    if (db_tx_begin(db, NULL) != 0) return -1;
    int rc = db_exec(db, "ins_consortium", 2, pc, NULL) || db_exec(db, "ins_authority", 4, pa, NULL) ||
             db_exec(db, "ins_authority", 4, pb, NULL) ||
             create_client(db, consortium, "Demo consortium admin", "{consortium_admin}", auths, k_admin) ||
             create_client(db, consortium, "Demo caseworker (Westminster)", "{caseworker}", only_a, k_cw_a) ||
             create_client(db, consortium, "Demo caseworker (Kensington and Chelsea)", "{caseworker}", only_b, k_cw_b) ||
             create_client(db, consortium, "Demo partner agency (a Westminster school)", "{partner_agency}", only_a,
                           k_partner);
    if (rc != 0 || db_tx_commit(db) != 0) {
        log_error(NULL, "seed failed: %s", db_error(db));
        db_tx_rollback(db);
        return -1;
    }
    printf("PARLEY_CONSORTIUM_ID=%s\nPARLEY_AUTHORITY_A=%s\nPARLEY_AUTHORITY_B=%s\n", consortium, a, b);
    printf("PARLEY_KEY_ADMIN=%s\nPARLEY_KEY_CASEWORKER_A=%s\nPARLEY_KEY_CASEWORKER_B=%s\nPARLEY_KEY_PARTNER_A=%s\n",
           k_admin, k_cw_a, k_cw_b, k_partner);
    return 0;
}

int main(int argc, char **argv) {
    log_init("admin");
    if (argc != 2 || strcmp(argv[1], "seed") != 0) {
        fprintf(stderr, "usage: parley-admin seed\n");
        return 2;
    }
    if (auth_init(getenv("PARLEY_KEY_SECRET")) != 0) {
        log_error(NULL, "PARLEY_KEY_SECRET must be at least 64 hex digits");
        return 1;
    }
    db_t *db = db_new(config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_gateway"));
    int rc = 1;
    /* Migrate first: the statements name tables the migrations create. */
    if (db == NULL || db_migrate(db, config_str("PARLEY_MIGRATIONS_DIR", "gateway/migrations"), "gateway") != 0)
        goto cleanup;
    if (db_register(db, admin_stmts, sizeof admin_stmts / sizeof admin_stmts[0]) != 0) goto cleanup;
    rc = seed(db) == 0 ? 0 : 1;
cleanup:
    db_destroy(&db);
    return rc;
}

/* floor-worker — the floor's worker: THREADS threads, each with its own REP
 * socket on the floor broker's back end and its own PostgreSQL connection
 * holding two prepared statements. A request is one frame:
 *   'S' id    SELECT body FROM bench_floor.items WHERE id = $1 (primary key)
 *   'I' body  INSERT one row into bench_floor.writes, autocommitted with
 *             synchronous_commit on (the commit waits for its WAL flush)
 * and its reply one frame: 'O' and the value (the body, or the new id),
 * 'N' when no row has the id, 'E' when PostgreSQL failed. The tables are
 * made by scripts/bench.d/floor.sh. No Parley code: it is the yardstick.
 *
 * Usage: floor-worker BACKEND PG_DSN [THREADS (4)]
 */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define FLOOR_MAX 16384 /* the longest request or reply frame */
#define FLOOR_THREADS_MAX 64

static void *zctx;
static const char *endpoint, *dsn;

/* A connection with synchronous_commit on and both statements prepared, or NULL. */
static PGconn *floor_connect(void) {
    PGconn *pg = PQconnectdb(dsn);
    PGresult *r[3] = {NULL, NULL, NULL};
    if (PQstatus(pg) == CONNECTION_OK) {
        r[0] = PQexec(pg, "SET synchronous_commit = on");
        r[1] = PQprepare(pg, "sel", "SELECT body FROM bench_floor.items WHERE id = $1", 1, NULL);
        r[2] = PQprepare(pg, "ins", "INSERT INTO bench_floor.writes (body) VALUES ($1) RETURNING id", 1, NULL);
    }
    int ok = PQstatus(pg) == CONNECTION_OK;
    for (int i = 0; i < 3; i++) {
        ok = ok && PQresultStatus(r[i]) == PGRES_COMMAND_OK;
        PQclear(r[i]);
    }
    if (!ok) {
        fprintf(stderr, "floor-worker: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static void *floor_serve(void *unused) {
    (void)unused;
    char *req = malloc(FLOOR_MAX + 1), *rep = malloc(FLOOR_MAX);
    void *sock = zmq_socket(zctx, ZMQ_REP);
    PGconn *pg = floor_connect();
    if (req == NULL || rep == NULL || pg == NULL || zmq_connect(sock, endpoint) != 0) exit(1);
    for (;;) {
        int n = zmq_recv(sock, req, FLOOR_MAX, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        size_t len = 1;
        rep[0] = 'E';
        if (n > 1 && n <= FLOOR_MAX && (req[0] == 'S' || req[0] == 'I')) {
            req[n] = '\0';
            const char *param = req + 1;
            PGresult *r = PQexecPrepared(pg, req[0] == 'S' ? "sel" : "ins", 1, &param, NULL, NULL, 0);
            if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0) {
                rep[0] = 'N';
            } else if (PQresultStatus(r) == PGRES_TUPLES_OK && (size_t)PQgetlength(r, 0, 0) < FLOOR_MAX) {
                rep[0] = 'O';
                len += (size_t)PQgetlength(r, 0, 0);
                memcpy(rep + 1, PQgetvalue(r, 0, 0), len - 1);
            }
            PQclear(r);
            if (PQstatus(pg) == CONNECTION_BAD) PQreset(pg);
        }
        if (zmq_send(sock, rep, len, 0) < 0 && errno != EINTR) break;
    }
    PQfinish(pg);
    zmq_close(sock);
    free(req);
    free(rep);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: floor-worker BACKEND PG_DSN [THREADS]\n");
        return 2;
    }
    endpoint = argv[1];
    dsn = argv[2];
    int threads = argc > 3 ? atoi(argv[3]) : 4;
    if (threads < 1 || threads > FLOOR_THREADS_MAX) {
        fprintf(stderr, "floor-worker: THREADS must be 1-%d\n", FLOOR_THREADS_MAX);
        return 2;
    }
    zctx = zmq_ctx_new();
    pthread_t t[FLOOR_THREADS_MAX];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, floor_serve, NULL) != 0) return 1;
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return 0;
}

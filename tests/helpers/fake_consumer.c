/* fake-consumer SERVICE [DELAY_MS] — a stand-in consumer of events for the
 * end-to-end tests: a bus worker for SERVICE that answers Events.Deliver with
 * OK (after DELAY_MS, default 0, so that relays overlap as a real consumer's
 * work makes them) and prints each event as one JSON line on stdout ({"id",
 * "type", "subjectId", "authorityId", "principalAuthority"}), so a test can
 * play a subscriber that comes back after being down, and count what reached
 * it. Stops on SIGTERM. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bus/auth.h"
#include "bus/bus.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/events/v1/events.pb-c.h"

static volatile sig_atomic_t stop;
static long delay_ms;

static int deliver(void *ctx, const bus_request_t *req, bus_response_t *res) {
    (void)ctx;
    if (delay_ms > 0) {
        struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    const Parley__Events__V1__Event *e = (const Parley__Events__V1__Event *)req->input;
    const Parley__Common__V1__Principal *p = req->header->principal;
    json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", e->id, "type", e->type, "subjectId", e->subject_id,
                             "authorityId", e->authority_id, "principalAuthority",
                             p && p->n_authority_ids ? p->authority_ids[0] : "");
    if (line) {
        json_dumpf(line, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        fflush(stdout);
        json_decref(line);
    }
    Parley__Events__V1__DeliverReply *r = arena_alloc(res->arena, sizeof *r);
    parley__events__v1__deliver_reply__init(r);
    res->reply = &r->base;
    return 0;
}

static const bus_method_t methods[] = {{"Deliver", &parley__events__v1__event__descriptor, deliver}};

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: fake-consumer SERVICE [DELAY_MS]\n");
        return 2;
    }
    if (argc == 3) {
        char *end;
        delay_ms = strtol(argv[2], &end, 10);
        if (*end != '\0' || delay_ms < 0 || delay_ms > 10000) {
            fprintf(stderr, "fake-consumer: DELAY_MS must be 0-10000, not '%s'\n", argv[2]);
            return 2;
        }
    }
    log_init("fake-consumer");
    /* It plays SERVICE, so it is on the bus as that kind, with that kind's key. */
    if (bus_auth_init(argv[1]) != 0) return 1;
    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    char endpoint[256];
    bus_worker_t *w = bus_worker_new(config_broker_endpoint(endpoint, sizeof endpoint), argv[1], methods, 1, NULL);
    int rc = w ? bus_worker_run(w, &stop) : -1;
    bus_worker_destroy(&w);
    return rc == 0 ? 0 : 1;
}

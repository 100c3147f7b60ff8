/* floor-broker — the floor's broker: the one hop between the HTTP server and
 * the workers that Parley's broker also costs. A ROUTER for the HTTP
 * server's REQ sockets, a DEALER for the workers' REP sockets, and
 * zmq_proxy between them (ZeroMQ's "extended request-reply" broker); it owns
 * nothing else. Runs until killed. No Parley code: it is the yardstick
 * (README, Performance).
 *
 * Usage: floor-broker FRONTEND BACKEND   e.g. tcp://127.0.0.1:7001 tcp://127.0.0.1:7002
 */
#include <stdio.h>
#include <zmq.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: floor-broker FRONTEND BACKEND\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *front = zmq_socket(ctx, ZMQ_ROUTER), *back = zmq_socket(ctx, ZMQ_DEALER);
    if (zmq_bind(front, argv[1]) != 0 || zmq_bind(back, argv[2]) != 0) {
        fprintf(stderr, "floor-broker: cannot bind: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    zmq_proxy(front, back, NULL); /* returns only when the process is told to stop */
    zmq_close(front);
    zmq_close(back);
    zmq_ctx_term(ctx);
    return 0;
}

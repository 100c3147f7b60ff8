/* liveness — how long the broker waits on a silent worker before it drops it:
 * BUS_HEARTBEAT_LIVENESS missed heartbeats of BUS_HEARTBEAT_MS (lib/bus/bus.h).
 * Its own header so that the broker (main.c, which hands it to registry_new)
 * and the unit tests use the one constant. */
#ifndef PARLEY_BROKER_LIVENESS_H
#define PARLEY_BROKER_LIVENESS_H

#include "bus/bus.h"

#define BROKER_LIVENESS_MS (BUS_HEARTBEAT_MS * BUS_HEARTBEAT_LIVENESS)

/* An idle worker silent for longer than this (a live one heartbeats every
 * BUS_HEARTBEAT_MS) is offered work last (registry_set_quiet_ms). */
#define BROKER_QUIET_MS (BUS_HEARTBEAT_MS * 3 / 2)

#endif

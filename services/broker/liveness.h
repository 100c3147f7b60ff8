/* liveness — how long the broker waits on a silent worker before it drops it:
 * BUS_HEARTBEAT_LIVENESS missed heartbeats of BUS_HEARTBEAT_MS (lib/bus/bus.h).
 * Its own header so that the broker (main.c, which hands it to registry_new)
 * and the unit tests use the one constant. */
#ifndef PARLEY_BROKER_LIVENESS_H
#define PARLEY_BROKER_LIVENESS_H

#include "bus/bus.h"

#define BROKER_LIVENESS_MS (BUS_HEARTBEAT_MS * BUS_HEARTBEAT_LIVENESS)

#endif

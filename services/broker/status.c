#include "status.h"

#include <stdio.h>
#include <stdlib.h>

uint8_t *broker_status_pack(bus_code_t code, const char *message, int32_t retry_after_s,
                            size_t *len) {
    bus_status_t status = PARLEY__COMMON__V1__STATUS__INIT;
    status.code = code;
    status.message = (char *)message;
    status.retry_after_seconds = retry_after_s;
    *len = parley__common__v1__status__get_packed_size(&status);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf != NULL) parley__common__v1__status__pack(&status, buf);
    return buf;
}

uint8_t *broker_status_unavailable(const char *service, size_t *len) {
    char message[256];
    snprintf(message, sizeof message, "no %s worker was free before the deadline", service);
    return broker_status_pack(PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE, message,
                              BROKER_RETRY_AFTER_S, len);
}

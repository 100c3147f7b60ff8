/* sweep — the daily deadline sweep's settings (sweep.c). */
#ifndef PARLEY_INTAKE_SWEEP_H
#define PARLEY_INTAKE_SWEEP_H

typedef struct {
    int notice_days; /* announce a deadline this many days before it is due */
} sweep_config_t;

#endif

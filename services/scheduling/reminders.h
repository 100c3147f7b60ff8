/* reminders — appointment.reminder_due, PARLEY_SCHEDULING_REMINDERS
 * minutes before each booked appointment (default 1440,120: 24 h and 2 h),
 * emitted once per appointment and offset however many scheduling
 * processes sweep (scheduling.appointment_reminders, claimed FOR UPDATE
 * SKIP LOCKED and marked sent in the transaction that emits the event). */
#ifndef PARLEY_SCHEDULING_REMINDERS_H
#define PARLEY_SCHEDULING_REMINDERS_H

#include "db/db.h"

#define REMINDERS_MAX 4

/* Reads PARLEY_SCHEDULING_REMINDERS once, before any thread: up to
 * REMINDERS_MAX offsets of 5 to 20160 minutes, comma-separated. -1 (logged)
 * when it is malformed. */
int reminders_configure(void);

/* The statements reminders_schedule runs, on a handler's connection. */
const db_stmt_t *reminders_statements(size_t *n);

/* In the open transaction: appointment id's reminders made again for its
 * current start (those already past are not made; a moved appointment is
 * reminded again), or all of them dropped when cancelled. 0 or a DB_ERR_*. */
int reminders_schedule(db_t *db, const char *appointment_id);

/* The sweep, as a relay task (lib/svc/relay.h): reminders_init registers
 * its statements on the relay's connection, reminders_sweep emits what is
 * due. */
void reminders_init(void *ctx, db_t *db);
void reminders_sweep(void *ctx, db_t *db);

#endif

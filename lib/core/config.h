/* config — settings from environment variables with local defaults.
 * Every variable read here is listed in the README's configuration table. */
#ifndef PARLEY_CORE_CONFIG_H
#define PARLEY_CORE_CONFIG_H

/* The variable's value, or def when it is unset or empty. Borrowed. */
const char *config_str(const char *name, const char *def);

/* The variable as an integer in [min, max], or def when unset, empty or
 * not a number in range (a warning is logged then). */
long config_long(const char *name, long def, long min, long max);

/* The broker's endpoint: PARLEY_BROKER, else tcp://127.0.0.1:$PARLEY_BROKER_PORT
 * (default port 55555). Written into buf, which is returned. */
const char *config_broker_endpoint(char *buf, unsigned long cap);

#endif

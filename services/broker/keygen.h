/* keygen — `parley-broker keygen`: writes a bus key directory (keys.h):
 * the broker's key pair and one per client kind, secrets 0600 in a 0700
 * directory. What exists is kept, so running it again is safe; --rotate
 * replaces the named pairs, keeping each old public key as <name>.old.pub
 * (still on the broker's allow-list) until it is deleted.
 *
 *   parley-broker keygen DIR [KIND...]          (default: every Parley kind)
 *   parley-broker keygen --rotate DIR NAME...   (a kind, or broker)
 */
#ifndef PARLEY_BROKER_KEYGEN_H
#define PARLEY_BROKER_KEYGEN_H

/* The kinds of a Parley deployment: the gateway and every service. */
#define KEYGEN_KINDS "gateway", "intake", "matching", "scheduling", "notify", "training", "feedback"

/* Runs the command on argv (argv[0] is "keygen"). Returns the exit status:
 * 0, 1 on failure (said on stderr), 2 on a usage error. */
int keygen_run(int argc, char **argv);

#endif

/* webhook_address — where a webhook may be sent (SSRF).
 *
 * A webhook's URL is https (http only to an allow-listed host), has no
 * user or password, and its host must resolve only to addresses on the
 * public internet: loopback, link-local (169.254.0.0/16 with the cloud
 * metadata address, fe80::/10), private (10/8, 172.16/12, 192.168/16,
 * fc00::/7), shared CGNAT (100.64/10), unspecified, multicast, reserved
 * and broadcast addresses are refused, and so is an IPv4 address carried
 * in IPv6 (v4-mapped, v4-compatible, NAT64, 6to4) that would be. The check
 * is made when a webhook is registered and again at every delivery, where
 * curl is then held to the very address checked (webhook_sender.c), so a
 * name that resolves to another address later (DNS rebinding) gains
 * nothing. Hosts the operator allow-lists (PARLEY_WEBHOOK_ALLOW_HOSTS,
 * host or host:port, comma-separated) skip the address check and may use
 * http. Pure but for webhook_target_resolve (getaddrinfo). */
#ifndef PARLEY_NOTIFY_WEBHOOK_ADDRESS_H
#define PARLEY_NOTIFY_WEBHOOK_ADDRESS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define WEBHOOK_ALLOW_MAX 16
#define WEBHOOK_HOST_MAX 255

typedef struct {
    char host[WEBHOOK_HOST_MAX + 1]; /* lower case, IPv6 without brackets */
    int port;                        /* 0: any port */
} webhook_allow_entry_t;

typedef struct {
    webhook_allow_entry_t items[WEBHOOK_ALLOW_MAX];
    size_t n;
} webhook_allow_t;

/* A URL taken apart, and (after webhook_target_resolve) the address to
 * connect to. */
typedef struct {
    bool https;
    char host[WEBHOOK_HOST_MAX + 1]; /* lower case, IPv6 without brackets */
    int port;
    bool allow_listed;
    struct sockaddr_storage addr; /* the checked address curl is held to */
    socklen_t addr_len;
    char addr_text[64];           /* it, as text (IPv6 without brackets) */
} webhook_target_t;

/* Why the address may not be a webhook's target ("a loopback address"),
 * or NULL when it may. */
const char *webhook_address_refused(const struct sockaddr *sa);

/* Parses PARLEY_WEBHOOK_ALLOW_HOSTS ("127.0.0.1:8080,hooks.internal,[::1]:9000").
 * 0, or -1 when an entry is not host or host:port (or there are too many). */
int webhook_allow_parse(const char *text, webhook_allow_t *out);

/* Whether host (as webhook_url_parse gives it) and port are allow-listed. */
bool webhook_allow_has(const webhook_allow_t *allow, const char *host, int port);

/* Takes url apart into *t: 0, or -1 with *why (a static phrase) when it is
 * not an http(s) URL with a host, has a user or password, or is http to a
 * host not allow-listed. */
int webhook_url_parse(const char *url, const webhook_allow_t *allow, webhook_target_t *t, const char **why);

/* Resolves t's host and checks every address (unless allow-listed); the
 * first is kept in t to connect to. 0; -2 when an address is refused, *why
 * then what it is ("a loopback address"); or -1 with *why a static phrase
 * (it does not resolve). */
int webhook_target_resolve(webhook_target_t *t, const char **why);

#endif

/* Where a webhook may be sent (contract in webhook_address.h). */
#include "services/notify/webhook_address.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* At most this many addresses of one name are looked at: any more is refused. */
#define MAX_ADDRESSES 32

typedef struct {
    uint32_t net;
    int bits;
    const char *why;
} v4_range_t;

static const v4_range_t v4_refused[] = {
    {0x00000000u, 8, "an unspecified (0.0.0.0/8) address"},
    {0x0A000000u, 8, "a private (10.0.0.0/8) address"},
    {0x64400000u, 10, "a shared (CGNAT, 100.64.0.0/10) address"},
    {0x7F000000u, 8, "a loopback address"},
    {0xA9FE0000u, 16, "a link-local or metadata (169.254.0.0/16) address"},
    {0xAC100000u, 12, "a private (172.16.0.0/12) address"},
    {0xC0000000u, 24, "an IETF protocol (192.0.0.0/24) address"},
    {0xC0A80000u, 16, "a private (192.168.0.0/16) address"},
    {0xC6120000u, 15, "a benchmarking (198.18.0.0/15) address"},
    {0xE0000000u, 4, "a multicast address"},
    {0xF0000000u, 4, "a reserved or broadcast address"},
};

static const char *v4_refused_why(uint32_t a) {
    for (size_t i = 0; i < sizeof v4_refused / sizeof v4_refused[0]; i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - v4_refused[i].bits);
        if ((a & mask) == v4_refused[i].net) return v4_refused[i].why;
    }
    return NULL;
}

static uint32_t v4_at(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool zeros(const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return false;
    return true;
}

static const char *v6_refused_why(const unsigned char *b) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (zeros(b, 16)) return "an unspecified (::) address";
    if (zeros(b, 15) && b[15] == 1) return "a loopback address";
    /* An IPv4 address carried in IPv6 is judged as that address. */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) {
        const char *why = v4_refused_why(v4_at(b + 12));
        return why;
    }
    if (zeros(b, 12)) return "an IPv4-compatible IPv6 address";
    if (b[0] == 0x20 && b[1] == 0x02) return v4_refused_why(v4_at(b + 2)); /* 6to4 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local (fe80::/10) address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "a site-local (fec0::/10) address";
    if ((b[0] & 0xfe) == 0xfc) return "a private (fc00::/7) address";
    if (b[0] == 0xff) return "a multicast address";
    return NULL;
}

const char *webhook_address_refused(const struct sockaddr *sa) {
    if (sa == NULL) return "no address";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_refused_why(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_refused_why(in6->sin6_addr.s6_addr);
    }
    return "not an IP address";
}

/* host (len bytes, brackets taken off an IPv6 one), lower-cased into out. */
static int host_copy(char out[WEBHOOK_HOST_MAX + 1], const char *host, size_t len) {
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len > WEBHOOK_HOST_MAX) return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '_') return -1;
        out[i] = (char)tolower(c);
    }
    out[len] = '\0';
    return 0;
}

int webhook_allow_parse(const char *text, webhook_allow_t *out) {
    out->n = 0;
    const char *p = text ? text : "";
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') p++;
        if (*p == '\0') break;
        const char *end = p;
        while (*end != '\0' && *end != ',') end++;
        const char *last = end;
        while (last > p && last[-1] == ' ') last--;
        if (out->n == WEBHOOK_ALLOW_MAX) return -1;
        webhook_allow_entry_t *e = &out->items[out->n];
        /* host, [v6], host:port or [v6]:port; a bare v6 has several colons. */
        const char *host_end = last;
        e->port = 0;
        const char *colon = NULL;
        if (*p == '[') {
            const char *close = memchr(p, ']', (size_t)(last - p));
            if (close == NULL) return -1;
            if (close + 1 < last) {
                if (close[1] != ':') return -1;
                colon = close + 1;
            }
            host_end = close + 1;
        } else {
            const char *c = memchr(p, ':', (size_t)(last - p));
            if (c != NULL && memchr(c + 1, ':', (size_t)(last - c - 1)) == NULL) colon = c, host_end = c;
        }
        if (colon != NULL) {
            long port = 0;
            const char *d = colon + 1;
            if (d == last || last - d > 5) return -1;
            for (; d < last; d++) {
                if (!isdigit((unsigned char)*d)) return -1;
                port = port * 10 + (*d - '0');
            }
            if (port < 1 || port > 65535) return -1;
            e->port = (int)port;
        }
        if (host_copy(e->host, p, (size_t)(host_end - p)) != 0) return -1;
        out->n++;
        p = end;
    }
    return 0;
}

bool webhook_allow_has(const webhook_allow_t *allow, const char *host, int port) {
    for (size_t i = 0; allow != NULL && i < allow->n; i++)
        if (strcmp(allow->items[i].host, host) == 0 && (allow->items[i].port == 0 || allow->items[i].port == port))
            return true;
    return false;
}

int webhook_url_parse(const char *url, const webhook_allow_t *allow, webhook_target_t *t, const char **why) {
    memset(t, 0, sizeof *t);
    *why = "must be an https URL with a host";
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
    int rc = -1;
    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) goto cleanup;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto cleanup;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        *why = "must not hold a user name or password";
        goto cleanup;
    }
    if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) goto cleanup;
    if (host_copy(t->host, host, strlen(host)) != 0) {
        *why = "must name a host of letters, digits, dots and hyphens, or an IP address";
        goto cleanup;
    }
    t->https = strcasecmp(scheme, "https") == 0;
    t->port = atoi(port);
    if (t->port < 1 || t->port > 65535) goto cleanup;
    t->allow_listed = webhook_allow_has(allow, t->host, t->port);
    if (!t->https && !t->allow_listed) {
        *why = "must be https (http only to a host allow-listed in PARLEY_WEBHOOK_ALLOW_HOSTS)";
        goto cleanup;
    }
    rc = 0;
cleanup:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return rc;
}

int webhook_target_resolve(webhook_target_t *t, const char **why) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%d", t->port);
    if (getaddrinfo(t->host, service, &hints, &res) != 0 || res == NULL) {
        *why = "names a host that does not resolve";
        return -1;
    }
    int rc = 0, n = 0;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (++n > MAX_ADDRESSES) {
            *why = "names a host with too many addresses";
            rc = -1;
            break;
        }
        const char *refused = t->allow_listed ? NULL : webhook_address_refused(ai->ai_addr);
        if (refused != NULL) {
            /* Every address must pass: any one of them may be the one used. */
            *why = refused;
            rc = -2;
            break;
        }
    }
    if (rc == 0) {
        const struct addrinfo *first = res;
        if (first->ai_addrlen > sizeof t->addr) {
            *why = "names a host with an address of an unknown kind";
            rc = -1;
        } else {
            memcpy(&t->addr, first->ai_addr, first->ai_addrlen);
            t->addr_len = (socklen_t)first->ai_addrlen;
            const void *raw = first->ai_family == AF_INET
                                  ? (const void *)&((const struct sockaddr_in *)first->ai_addr)->sin_addr
                                  : (const void *)&((const struct sockaddr_in6 *)first->ai_addr)->sin6_addr;
            if (inet_ntop(first->ai_family, raw, t->addr_text, sizeof t->addr_text) == NULL) {
                *why = "names a host whose address cannot be written";
                rc = -1;
            }
        }
    }
    freeaddrinfo(res);
    return rc;
}

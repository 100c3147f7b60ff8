/* parley-notify: the notify service's process: PARLEY_WORKER_THREADS
 * handler threads (lib/svc/runtime.h), each with its own database
 * connection and bus client, and a sender thread (sender.h) delivering
 * what is due. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/auth.h"
#include "bus/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "parley/events/v1/events.pb-c.h"
#include "services/notify/contacts.h"
#include "services/notify/events_send.h"
#include "services/notify/letter.h"
#include "services/notify/letter_pdf.h"
#include "services/notify/notify.h"
#include "services/notify/sender.h"
#include "services/notify/webhook.h"
#include "services/notify/webhook_sender.h"
#include "svc/runtime.h"
#include "svc/svc.h"

#define NO(x) &parley__notify__v1__##x##__descriptor

static volatile sig_atomic_t stop;

/* Every method runs inside svc_serve: the request's audit row is written in
 * the transaction that serves it (lib/svc/svc.h, SVC_AUDITED). */
SVC_AUDITED(notify_t, templates_put)
SVC_AUDITED(notify_t, templates_get)
SVC_AUDITED(notify_t, notifications_create)
SVC_AUDITED(notify_t, notifications_get)
SVC_AUDITED(notify_t, notifications_list)
SVC_AUDITED(notify_t, events_deliver)
SVC_AUDITED(notify_t, webhooks_create)
SVC_AUDITED(notify_t, webhooks_list)
SVC_AUDITED(notify_t, webhooks_get)
SVC_AUDITED(notify_t, webhooks_delete)
SVC_AUDITED(notify_t, webhooks_deliveries)
SVC_AUDITED(notify_t, contacts_put)
SVC_AUDITED(notify_t, contacts_get)

static const bus_method_t methods[] = {
    {"PutTemplate", NO(put_template_request), templates_put__audited},
    {"GetTemplate", NO(get_template_request), templates_get__audited},
    {"CreateNotification", NO(create_notification_request), notifications_create__audited},
    {"GetNotification", NO(get_notification_request), notifications_get__audited},
    {"ListNotifications", NO(list_notifications_request), notifications_list__audited},
    {"Deliver", &parley__events__v1__event__descriptor, events_deliver__audited},
    /* Webhooks (webhook.h). */
    {"CreateWebhook", NO(create_webhook_request), webhooks_create__audited},
    {"ListWebhooks", NO(list_webhooks_request), webhooks_list__audited},
    {"GetWebhook", NO(get_webhook_request), webhooks_get__audited},
    {"DeleteWebhook", NO(get_webhook_request), webhooks_delete__audited},
    {"ListWebhookDeliveries", NO(list_webhook_deliveries_request), webhooks_deliveries__audited},
    /* Contacts and preferences (contacts.h). */
    {"PutContactPreferences", NO(put_contact_preferences_request), contacts_put__audited},
    {"GetContactPreferences", NO(get_contact_preferences_request), contacts_get__audited},
};

void notify_register_statements(db_t *db) {
    const db_stmt_set_t sets[] = {templates_statements, notifications_statements, events_statements,
                                                  webhooks_statements, contacts_statements,
                                                  letter_statements, events_send_statements};
    db_register_sets(db, sets, sizeof sets / sizeof sets[0]);
}

/* What every handler thread's context is made from. */
typedef struct {
    const char *dsn, *endpoint;
} ctx_args_t;

/* One handler thread's context: a connection with every statement on it,
 * and a bus client for the calls a handler makes (intake, for contacts). */
static void *notify_ctx_new(void *arg) {
    const ctx_args_t *args = arg;
    notify_t *t = calloc(1, sizeof *t);
    if (t == NULL || (t->db = db_new(args->dsn)) == NULL || (t->bus = bus_client_new(args->endpoint)) == NULL) {
        log_error(NULL, "notify: cannot set up a handler thread");
        if (t) db_destroy(&t->db);
        free(t);
        return NULL;
    }
    notify_register_statements(t->db);
    return t;
}

static void notify_ctx_destroy(void *ctx) {
    notify_t *t = ctx;
    bus_client_destroy(&t->bus);
    db_destroy(&t->db);
    free(t);
}

/* Whether s is a UUID's text. */
static bool uuid_text(const char *s) {
    jwt_key_t k;
    /* A key of name "x" and s twice parses exactly when s is a UUID. */
    char probe[2 * JWT_UUID_LEN + 4];
    if (strlen(s) != JWT_UUID_LEN) return false;
    snprintf(probe, sizeof probe, "x-%s-%s", s, s);
    return jwt_key_parse(probe, &k) == 0;
}

/* The Notify API's settings, checked: 0, or -1 (logged) when the URL is
 * set and the key or the SMS template is not one. The key is never logged.
 * The URL, its trailing slashes taken off (paths are added to it), is
 * copied into url (cap bytes, main's: it outlives the sender). */
static int configure_api(notify_api_config_t *api, char *url, size_t cap) {
    size_t n = strlen(api->url);
    if (n == 0) return 0;
    /* Messages carry families' personal data: plain HTTP only to a stand-in on this machine. */
    if (!notify_api_url_allowed(api->url)) {
        log_error(NULL, "notify: PARLEY_NOTIFY_API_URL must be an https:// URL (http:// only to a loopback host)");
        return -1;
    }
    if (n >= cap) {
        log_error(NULL, "notify: PARLEY_NOTIFY_API_URL is longer than %zu bytes", cap - 1);
        return -1;
    }
    memcpy(url, api->url, n + 1);
    while (n > 0 && url[n - 1] == '/') url[--n] = '\0';
    api->url = url;
    if (jwt_key_parse(config_str("PARLEY_NOTIFY_API_KEY", ""), &api->key) != 0) {
        log_error(NULL, "notify: PARLEY_NOTIFY_API_KEY must be a GOV.UK Notify API key: "
                        "{key name}-{service id}-{secret key}, both ids UUIDs");
        return -1;
    }
    if (!uuid_text(api->sms_template) || (*api->email_template && !uuid_text(api->email_template))) {
        log_error(NULL, "notify: PARLEY_NOTIFY_API_SMS_TEMPLATE (required with PARLEY_NOTIFY_API_URL) and "
                        "PARLEY_NOTIFY_API_EMAIL_TEMPLATE must be Notify template ids (UUIDs)");
        return -1;
    }
    return 0;
}

int main(void) {
    log_init("notify");
    if (bus_auth_init("notify") != 0) return 1;
    if (bus_signals_stop_on_term(&stop) != 0) return 1;
    /* Before any thread: curl's global state is not thread-safe to set up. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error(NULL, "notify: curl cannot start");
        return 1;
    }

    const char *dsn = config_str("PARLEY_PG_DSN", "host=127.0.0.1 port=55432 dbname=parley user=parley_notify");
    /* Migrate before serving (every instance tries; the advisory lock serialises). */
    if (svc_runtime_migrate(dsn, "notify", &stop) != 0) return 1;

    char endpoint[256];
    config_broker_endpoint(endpoint, sizeof endpoint);
    const char *from = config_str("PARLEY_NOTIFY_FROM", "no-reply@parley.invalid");
    sender_config_t sc = {
        .conninfo = dsn,
        .bus_endpoint = endpoint,
        .smtp = {.url = config_str("PARLEY_SMTP_URL", ""),
                 .from = from,
                 .from_name = config_str("PARLEY_NOTIFY_FROM_NAME", "Parley"),
                 .unsubscribe = config_str("PARLEY_NOTIFY_UNSUBSCRIBE", from),
                 .timeout_ms = config_long("PARLEY_SMTP_TIMEOUT_MS", 30000, 100, 600000),
                 .rate = (double)config_long("PARLEY_SMTP_RATE", 0, 0, 100000)},
        .interval_ms = config_long("PARLEY_NOTIFY_SEND_INTERVAL_MS", 250, 10, 60000),
        .batch = 50,
        .max_attempts = (int)config_long("PARLEY_NOTIFY_MAX_ATTEMPTS", 10, 1, 50),
        .retry_base_ms = config_long("PARLEY_NOTIFY_RETRY_BASE_MS", 2000, 10, 3600000),
        .retry_max_ms = config_long("PARLEY_NOTIFY_RETRY_MAX_MS", 600000, 10, 86400000),
        .api = {.url = config_str("PARLEY_NOTIFY_API_URL", ""),
                .sms_template = config_str("PARLEY_NOTIFY_API_SMS_TEMPLATE", ""),
                .email_template = config_str("PARLEY_NOTIFY_API_EMAIL_TEMPLATE", ""),
                .timeout_ms = config_long("PARLEY_NOTIFY_API_TIMEOUT_MS", 30000, 100, 600000),
                .rate = (double)config_long("PARLEY_NOTIFY_API_RATE", 50, 1, 100000)},
        .poll_ms = config_long("PARLEY_NOTIFY_API_POLL_MS", 5000, 10, 3600000),
    };
    char api_url[1024];
    if (configure_api(&sc.api, api_url, sizeof api_url) != 0) return 1;
    /* Without an SMTP server or a Notify API nothing is sent: notifications wait, queued. */
    sender_t *sender = NULL;
    if (*sc.smtp.url == '\0' && *sc.api.url == '\0') {
        log_warn(NULL, "notify: neither PARLEY_SMTP_URL nor PARLEY_NOTIFY_API_URL is set; notifications wait unsent");
    } else if (*sc.smtp.url != '\0' &&
               smtp_tls_for(sc.smtp.url, config_str("PARLEY_SMTP_TLS", ""), &sc.smtp.starttls) != 0) {
        log_error(NULL, "notify: PARLEY_SMTP_URL must be smtp:// or smtps://, and PARLEY_SMTP_TLS required, off or unset");
        return 1;
    } else if ((sender = sender_start(&sc)) == NULL) {
        return 1;
    }

    /* Webhooks: their configuration, fixed before any thread reads it, and
     * their sender thread (webhook_sender.h), apart from the email one. */
    webhook_config_t wc = {0};
    const char *wkey = config_str("PARLEY_WEBHOOK_KEY", "");
    if (webhook_allow_parse(config_str("PARLEY_WEBHOOK_ALLOW_HOSTS", ""), &wc.allow) != 0) {
        log_error(NULL, "notify: PARLEY_WEBHOOK_ALLOW_HOSTS must be host or host:port, comma-separated (at most %d)",
                  WEBHOOK_ALLOW_MAX);
        sender_stop(&sender);
        return 1;
    }
    if (*wkey != '\0' && webhook_key_parse(wkey, wc.key) != 0) {
        log_error(NULL, "notify: PARLEY_WEBHOOK_KEY must be 64 hex digits (32 bytes)");
        sender_stop(&sender);
        return 1;
    }
    wc.have_key = *wkey != '\0';
    webhook_configure(&wc);
    webhook_sender_t *hooks = NULL;
    webhook_sender_config_t wsc = {
        .conninfo = dsn,
        .interval_ms = config_long("PARLEY_WEBHOOK_SEND_INTERVAL_MS", 250, 10, 60000),
        .timeout_ms = config_long("PARLEY_WEBHOOK_TIMEOUT_MS", 5000, 100, 60000),
        .max_attempts = (int)config_long("PARLEY_WEBHOOK_MAX_ATTEMPTS", 8, 1, 50),
        .retry_base_ms = config_long("PARLEY_WEBHOOK_RETRY_BASE_MS", 5000, 10, 3600000),
        .retry_max_ms = config_long("PARLEY_WEBHOOK_RETRY_MAX_MS", 3600000, 10, 86400000),
    };
    if (!wc.have_key) log_warn(NULL, "notify: PARLEY_WEBHOOK_KEY is not set; webhooks cannot be made or sent");
    else if ((hooks = webhook_sender_start(&wsc)) == NULL) {
        sender_stop(&sender);
        return 1;
    }

    ctx_args_t args = {dsn, endpoint};
    svc_runtime_t rt = {.service = "notify",
                        .endpoint = endpoint,
                        .methods = methods,
                        .n_methods = sizeof methods / sizeof methods[0],
                        .ctx_new = notify_ctx_new,
                        .ctx_destroy = notify_ctx_destroy,
                        .arg = &args,
                        .threads = svc_runtime_threads()};
    int status = svc_runtime_run(&rt, &stop);
    sender_stop(&sender);
    webhook_sender_stop(&hooks);
    letter_pdf_shutdown();
    curl_global_cleanup();
    log_info(NULL, "stopped");
    return status == 0 ? 0 : 1;
}

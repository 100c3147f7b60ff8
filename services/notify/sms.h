/* sms — what a text costs as SMS: its encoding and how many messages
 * (segments) it takes, as networks count them (3GPP TS 23.038). Pure,
 * unit-tested in tests/unit/test_notify_sms.c.
 *
 * GSM-7 when every character is in the GSM 03.38 default alphabet or its
 * extension table (^ { } \ [ ~ ] | € and form feed, each sent as two
 * septets): 160 septets in one message, else parts of 153. Otherwise UCS-2
 * (UTF-16 code units: a character outside the Basic Multilingual Plane,
 * such as an emoji, counts 2): 70 in one message, else parts of 67. A
 * two-unit character is never split across parts. */
#ifndef PARLEY_NOTIFY_SMS_H
#define PARLEY_NOTIFY_SMS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool gsm7;      /* false: UCS-2 */
    int characters; /* septets (GSM-7) or UTF-16 units (UCS-2) */
    int segments;   /* 0 for an empty text */
} sms_length_t;

/* Counts text (UTF-8, at most max_bytes of it are read). Returns 0, or -1
 * when text is not valid UTF-8. */
int sms_count(const char *text, size_t max_bytes, sms_length_t *out);

#endif

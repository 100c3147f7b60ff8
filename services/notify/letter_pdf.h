/* letter_pdf — a letter laid out with Pango and drawn by Cairo as a PDF, in
 * memory, where letter_layout.h places it: the address in the envelope's
 * window, the date, the subject as a heading and the body, broken into at
 * most LETTER_MAX_PAGES pages each numbered "n / N".
 *
 * Text is shaped by HarfBuzz through Pango, each paragraph's direction
 * taken from its first strong character (Urdu right to left, and set
 * against the right edge; Welsh, Polish, Somali left to right), in Noto
 * Sans with Noto Nastaliq Urdu (Urdu) or Noto Naskh Arabic as the faces
 * (Debian's fonts-noto-core), the language given to Pango so it shapes and
 * picks faces for it. Cairo embeds the subset of each face with its text,
 * so the PDF's words can be read back (pdftotext).
 *
 * Reentrant for its callers: fontconfig and the font map are set up once
 * per process (pthread_once), and rendering holds a process-wide mutex, as
 * Pango's font map and fontconfig are not safe to share between threads
 * unguarded. Letters are few, and one takes milliseconds. */
#ifndef PARLEY_NOTIFY_LETTER_PDF_H
#define PARLEY_NOTIFY_LETTER_PDF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *const *lines; /* the address's lines, LETTER_MIN_LINES to LETTER_MAX_LINES */
    size_t n_lines;
    const char *postcode; /* normalised (letter_postcode_normalise) */
    const char *language; /* BCP 47 of the text ("ur", "cy") */
    const char *date;     /* as printed ("1 December 2026"), or NULL */
    const char *heading;  /* the subject */
    const char *body;     /* the plain body: paragraphs separated by line breaks */
    bool large_print;
} letter_input_t;

typedef struct {
    unsigned char *data; /* the PDF (malloc'd: letter_pdf_free) */
    size_t len;
    int pages;
    int body_pt;
} letter_pdf_t;

/* What letter_pdf_render came to. */
#define LETTER_PDF_OK 0
#define LETTER_PDF_TOO_LONG (-1)   /* more than LETTER_MAX_PAGES pages */
#define LETTER_PDF_TOO_WIDE (-2)   /* *bad: the address line (n_lines: the postcode) wider than the window */
#define LETTER_PDF_TOO_LARGE (-3)  /* the PDF is over LETTER_MAX_PDF_BYTES */
#define LETTER_PDF_NO_FONT (-4)    /* fontconfig finds no Noto Sans: fonts-noto-core is not installed */
#define LETTER_PDF_FAILED (-5)     /* Cairo or memory failed */

/* Renders in into *out. One of LETTER_PDF_*; *out is filled only on OK. */
int letter_pdf_render(const letter_input_t *in, letter_pdf_t *out, size_t *bad);
void letter_pdf_free(letter_pdf_t *pdf);

/* Lets the font map go, at the process's end (after every thread that
 * renders has stopped): no letter can be rendered after it. */
void letter_pdf_shutdown(void);

#endif

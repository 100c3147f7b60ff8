/* letter_layout — the geometry of a Parley letter and the checks of its
 * address: pure functions and constants (no Pango, no I/O), unit-tested in
 * tests/unit/test_notify_letter.c. letter_pdf.c draws what this decides.
 *
 * The page is A4 portrait as GOV.UK Notify's precompiled letter
 * specification requires: everything printed inside a border of 15 mm left
 * and right and 5 mm top and bottom; on page 1 the recipient's address
 * inside the block a DL windowed envelope shows (24.6 to 120 mm from the
 * left, 40 to 66.2 mm from the top), nothing else in the address and logo
 * areas to its left and above it, and the body from 95 mm down (the areas
 * above it are the envelope's window, the sender's details and the tag
 * Notify prints). Later pages use the whole bordered area. Distances here
 * are millimetres from the page's top-left corner; PDF points are
 * LETTER_PT_PER_MM each.
 *
 * Type follows the RNIB's clear print guidance: a sans-serif face (Noto
 * Sans, and Noto Nastaliq Urdu / Noto Naskh Arabic for Urdu and Arabic),
 * left aligned (right aligned for a right-to-left paragraph), never
 * justified, generous line spacing; 12 pt for the standard format and
 * 16 pt for large print. */
#ifndef PARLEY_NOTIFY_LETTER_LAYOUT_H
#define PARLEY_NOTIFY_LETTER_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#define LETTER_PT_PER_MM (72.0 / 25.4)
#define LETTER_PAGE_WIDTH_MM 210.0
#define LETTER_PAGE_HEIGHT_MM 297.0

/* Notify's printable border. */
#define LETTER_BORDER_SIDE_MM 15.0
#define LETTER_BORDER_TOP_MM 5.0
#define LETTER_BORDER_BOTTOM_MM 5.0

/* The address block Notify reads and a DL window shows. */
#define LETTER_WINDOW_LEFT_MM 24.6
#define LETTER_WINDOW_RIGHT_MM 120.0
#define LETTER_WINDOW_TOP_MM 40.0
#define LETTER_WINDOW_BOTTOM_MM 66.2

/* Where the address is set inside the window: inset from its edges so
 * that a letter shifted a little in the envelope still shows it whole. */
#define LETTER_ADDRESS_INSET_MM 0.5
/* The address's type: every line (6 and the postcode) fits the window. */
#define LETTER_ADDRESS_PT 9.0
#define LETTER_ADDRESS_PITCH_MM 3.45

/* The body's frame: page 1 from Notify's body line, later pages from the
 * top border; a footer line (the page number) below the body on each. */
#define LETTER_BODY_LEFT_MM 20.0
#define LETTER_BODY_RIGHT_MM 190.0
#define LETTER_BODY_TOP_FIRST_MM 95.0
#define LETTER_BODY_TOP_MM 20.0
#define LETTER_BODY_BOTTOM_MM 272.0
#define LETTER_FOOTER_TOP_MM 280.0
/* The date, in the sender's area right of the window. */
#define LETTER_DATE_LEFT_MM 130.0
#define LETTER_DATE_TOP_MM 45.0

/* Bounds: the pages a letter may have (Notify posts at most 10), the
 * address's lines (the postcode apart), a line's characters. */
#define LETTER_MAX_PAGES 10
#define LETTER_MIN_LINES 2
#define LETTER_MAX_LINES 6
#define LETTER_MAX_LINE_CHARS 45
/* The longest PDF a letter may be (Notify takes up to 5 MB): a bound on
 * what is stored and sent. */
#define LETTER_MAX_PDF_BYTES (2 * 1024 * 1024)

/* The body's type size in points: 16 for large print, else 12. */
int letter_body_pt(bool large_print);
/* The heading's (the subject's): a step above the body's. */
int letter_heading_pt(bool large_print);

/* The top of the address's line i (0-based, the postcode the last) in mm,
 * and the bottom of a block of n lines (its last line's full height at
 * LETTER_ADDRESS_PT, line_height_em the font's ascent + descent in em). */
double letter_address_line_top_mm(int i);
double letter_address_bottom_mm(int n, double line_height_em);

/* The body frame's top on page (0-based), in mm. */
double letter_body_top_mm(int page);

/* Pages the lines of the body take: line i is height[i] mm tall (its
 * logical extent) and may not be split; each page's frame is from
 * letter_body_top_mm(page) to LETTER_BODY_BOTTOM_MM, page 0's after
 * first_offset_mm (the heading). page_of[i] gets each line's page and
 * top[i] its top in mm. Returns the pages (at least 1), or -1 when more
 * than max_pages would be needed (page_of and top then partly filled). A
 * line taller than a frame is placed alone on its page. */
int letter_paginate(const double *height, size_t n, double first_offset_mm, int max_pages, int *page_of,
                    double *top);

/* A UK postcode, in any case and with or without its space, checked as
 * Royal Mail forms them (the outward code A9, A99, A9A, AA9, AA99 or AA9A
 * with the letters each position may hold, the inward code 9AA without
 * C I K M O V; and GIR 0AA), written into out (at least 9 bytes)
 * upper-case with one space before the inward code. 0, or -1 when it is
 * not one. */
int letter_postcode_normalise(const char *in, char *out);

/* Whether s is one printable line of at most LETTER_MAX_LINE_CHARS
 * characters (valid UTF-8, no control characters, not blank). */
bool letter_line_ok(const char *s);

#endif

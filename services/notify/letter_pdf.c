/* A letter as a PDF, with Pango and Cairo (contract in letter_pdf.h). */
#include "services/notify/letter_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "services/notify/letter_layout.h"

#define MM(x) ((x) * LETTER_PT_PER_MM)
#define PT(units) ((double)(units) / PANGO_SCALE)
/* Space between the heading and the body, in mm. */
#define HEADING_GAP_MM 5.0

/* The process's fontconfig set-up and font map, made once (pthread_once)
 * and used only under render_lock. */
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t render_lock = PTHREAD_MUTEX_INITIALIZER;
static PangoFontMap *font_map;
static bool have_noto;

/* Whether fontconfig's best match for family is that family (not a stand-in). */
static bool font_installed(const char *family) {
    FcPattern *want = FcNameParse((const FcChar8 *)family);
    if (want == NULL) return false;
    FcConfigSubstitute(NULL, want, FcMatchPattern);
    FcDefaultSubstitute(want);
    FcResult result;
    FcPattern *got = FcFontMatch(NULL, want, &result);
    FcChar8 *name = NULL;
    bool ok = got && FcPatternGetString(got, FC_FAMILY, 0, &name) == FcResultMatch &&
              strcmp((const char *)name, family) == 0;
    if (got) FcPatternDestroy(got);
    FcPatternDestroy(want);
    return ok;
}

/* Debian's Noto Nastaliq Urdu Bold says it is of regular weight, as its
 * Regular does, so fontconfig may take it for regular text: set aside
 * (Pango makes a bold heading from the Regular). */
static const char fc_rules[] = "<?xml version=\"1.0\"?><!DOCTYPE fontconfig SYSTEM \"fonts.dtd\"><fontconfig>"
                               "<selectfont><rejectfont><glob>*/NotoNastaliqUrdu-Bold.ttf</glob></rejectfont>"
                               "</selectfont></fontconfig>";

static void setup(void) {
    FcConfig *config = FcInitLoadConfig();
    if (config == NULL) return;
    if (!FcConfigParseAndLoadFromMemory(config, (const FcChar8 *)fc_rules, FcTrue) || !FcConfigBuildFonts(config) ||
        !FcConfigSetCurrent(config)) {
        FcConfigDestroy(config);
        return;
    }
    /* The configuration stays current for the process's life. */
    have_noto = font_installed("Noto Sans");
    /* Our own map at 72 dpi, so a point of type is a unit of the PDF's space. */
    font_map = pango_cairo_font_map_new();
    if (font_map) pango_cairo_font_map_set_resolution(PANGO_CAIRO_FONT_MAP(font_map), 72.0);
}

/* The PDF as Cairo writes it, bounded. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
    bool over, failed;
} sink_t;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int length) {
    sink_t *s = closure;
    if (s->len + length > LETTER_MAX_PDF_BYTES) {
        s->over = true;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    if (s->len + length > s->cap) {
        size_t cap = s->cap ? s->cap : 64 * 1024;
        while (cap < s->len + length) cap *= 2;
        unsigned char *grown = realloc(s->p, cap);
        if (grown == NULL) {
            s->failed = true;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        s->p = grown;
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, length);
    s->len += length;
    return CAIRO_STATUS_SUCCESS;
}

/* The faces for text in language: Noto Sans first, with the face that
 * writes Urdu in its own (Nastaliq) style first for Urdu. */
static PangoFontDescription *face(const char *language, double pt, bool bold) {
    bool urdu = language && strncmp(language, "ur", 2) == 0 && (language[2] == '\0' || language[2] == '-');
    PangoFontDescription *d = pango_font_description_from_string(
        urdu ? "Noto Nastaliq Urdu, Noto Sans, Noto Naskh Arabic" : "Noto Sans, Noto Naskh Arabic");
    pango_font_description_set_absolute_size(d, pt * PANGO_SCALE);
    pango_font_description_set_weight(d, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    return d;
}

/* A layout of text in ctx: left aligned (right for a right-to-left
 * paragraph, when auto_dir), never justified, wrapped at width_pt when
 * it is above 0. */
static PangoLayout *layout_new(PangoContext *ctx, const char *text, PangoFontDescription *d, double width_pt,
                               bool auto_dir) {
    PangoLayout *l = pango_layout_new(ctx);
    pango_layout_set_font_description(l, d);
    pango_layout_set_alignment(l, PANGO_ALIGN_LEFT);
    pango_layout_set_justify(l, FALSE);
    pango_layout_set_auto_dir(l, auto_dir);
    if (width_pt > 0) {
        pango_layout_set_width(l, (int)(width_pt * PANGO_SCALE));
        pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_text(l, text, -1);
    return l;
}

/* Draws layout l with its top-left at (x, y) mm. */
static void show_at(cairo_t *cr, PangoLayout *l, double x_mm, double y_mm) {
    cairo_move_to(cr, MM(x_mm), MM(y_mm));
    pango_cairo_show_layout(cr, l);
}

/* The body's lines, each with what drawing it needs. */
typedef struct {
    PangoLayoutLine *line;
    double x_pt;        /* its logical left, from the layout's (alignment included) */
    double baseline_pt; /* its baseline below its top */
} body_line_t;

/* The address, the postcode last, at 9 pt in the window: LETTER_PDF_OK,
 * or TOO_WIDE with *bad the line wider than the window. Measured first,
 * drawn only when every line fits. */
static int address(cairo_t *cr, PangoContext *ctx, const letter_input_t *in, size_t *bad) {
    PangoFontDescription *d = face("en", LETTER_ADDRESS_PT, false);
    double room = MM(LETTER_WINDOW_RIGHT_MM - LETTER_WINDOW_LEFT_MM - 2 * LETTER_ADDRESS_INSET_MM);
    int rc = LETTER_PDF_OK;
    for (int pass = 0; pass < 2 && rc == LETTER_PDF_OK; pass++) {
        for (size_t i = 0; i <= in->n_lines; i++) {
            const char *text = i < in->n_lines ? in->lines[i] : in->postcode;
            /* The address reads left to right from the window's edge whatever its script. */
            PangoLayout *l = layout_new(ctx, text, d, 0, false);
            PangoRectangle logical;
            pango_layout_get_extents(l, NULL, &logical);
            if (pass == 0 && PT(logical.width) > room) {
                *bad = i;
                rc = LETTER_PDF_TOO_WIDE;
            } else if (pass == 1) {
                show_at(cr, l, LETTER_WINDOW_LEFT_MM + LETTER_ADDRESS_INSET_MM, letter_address_line_top_mm((int)i));
            }
            g_object_unref(l);
            if (rc != LETTER_PDF_OK) break;
        }
    }
    pango_font_description_free(d);
    return rc;
}

/* Lays out, paginates and draws the heading and body onto the surface's
 * pages, the page numbers under each: LETTER_PDF_OK, TOO_LONG or FAILED. */
static int body(cairo_t *cr, PangoContext *ctx, const letter_input_t *in, int *pages) {
    const double width = MM(LETTER_BODY_RIGHT_MM - LETTER_BODY_LEFT_MM);
    PangoFontDescription *hd = face(in->language, letter_heading_pt(in->large_print), true);
    PangoFontDescription *bd = face(in->language, letter_body_pt(in->large_print), false);
    PangoLayout *heading = layout_new(ctx, in->heading ? in->heading : "", hd, width, true);
    PangoLayout *text = layout_new(ctx, in->body ? in->body : "", bd, width, true);
    int n = pango_layout_get_line_count(text);
    body_line_t *lines = calloc((size_t)(n > 0 ? n : 1), sizeof *lines);
    double *height = calloc((size_t)(n > 0 ? n : 1), sizeof *height), *top = calloc((size_t)(n > 0 ? n : 1), sizeof *top);
    int *page_of = calloc((size_t)(n > 0 ? n : 1), sizeof *page_of);
    int rc = LETTER_PDF_OK;
    if (lines == NULL || height == NULL || top == NULL || page_of == NULL) {
        rc = LETTER_PDF_FAILED;
        goto done;
    }
    PangoLayoutIter *it = pango_layout_get_iter(text);
    for (int i = 0; i < n; i++) {
        PangoRectangle logical;
        pango_layout_iter_get_line_extents(it, NULL, &logical);
        lines[i] = (body_line_t){pango_layout_iter_get_line_readonly(it), PT(logical.x),
                                 PT(pango_layout_iter_get_baseline(it) - logical.y)};
        height[i] = PT(logical.height) / LETTER_PT_PER_MM;
        if (!pango_layout_iter_next_line(it)) n = i + 1;
    }
    pango_layout_iter_free(it);
    PangoRectangle hr;
    pango_layout_get_extents(heading, NULL, &hr);
    double heading_mm = PT(hr.height) / LETTER_PT_PER_MM;
    double offset = heading_mm > 0 ? heading_mm + HEADING_GAP_MM : 0;
    *pages = letter_paginate(height, (size_t)n, offset, LETTER_MAX_PAGES, page_of, top);
    if (*pages < 0) {
        rc = LETTER_PDF_TOO_LONG;
        goto done;
    }
    show_at(cr, heading, LETTER_BODY_LEFT_MM, letter_body_top_mm(0));
    PangoFontDescription *fd = face("en", letter_body_pt(in->large_print), false);
    for (int p = 0, i = 0; p < *pages; p++) {
        if (p > 0) cairo_show_page(cr);
        for (; i < n && page_of[i] == p; i++) {
            cairo_move_to(cr, MM(LETTER_BODY_LEFT_MM) + lines[i].x_pt, MM(top[i]) + lines[i].baseline_pt);
            pango_cairo_show_layout_line(cr, lines[i].line);
        }
        char number[32];
        snprintf(number, sizeof number, "%d / %d", p + 1, *pages);
        PangoLayout *foot = layout_new(ctx, number, fd, 0, false);
        show_at(cr, foot, LETTER_BODY_LEFT_MM, LETTER_FOOTER_TOP_MM);
        g_object_unref(foot);
    }
    pango_font_description_free(fd);
done:
    free(lines);
    free(height);
    free(top);
    free(page_of);
    g_object_unref(heading);
    g_object_unref(text);
    pango_font_description_free(hd);
    pango_font_description_free(bd);
    return rc;
}

/* Renders under render_lock (the caller holds it). */
static int render_locked(const letter_input_t *in, letter_pdf_t *out, size_t *bad) {
    sink_t sink = {0};
    cairo_surface_t *surface =
        cairo_pdf_surface_create_for_stream(sink_write, &sink, MM(LETTER_PAGE_WIDTH_MM), MM(LETTER_PAGE_HEIGHT_MM));
    cairo_t *cr = cairo_create(surface);
    PangoContext *ctx = pango_font_map_create_context(font_map);
    int rc = LETTER_PDF_OK, pages = 0;
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Parley");
    /* Positions as the font designs them, not snapped to a screen's pixels. */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    pango_context_set_round_glyph_positions(ctx, FALSE);
    pango_context_set_language(ctx, pango_language_from_string(in->language ? in->language : "en"));
    pango_cairo_update_context(cr, ctx);
    cairo_set_source_rgb(cr, 0, 0, 0);
    rc = address(cr, ctx, in, bad);
    if (rc == LETTER_PDF_OK && in->date) {
        PangoFontDescription *d = face("en", letter_body_pt(in->large_print) - 2, false);
        PangoLayout *l = layout_new(ctx, in->date, d, 0, false);
        show_at(cr, l, LETTER_DATE_LEFT_MM, LETTER_DATE_TOP_MM);
        g_object_unref(l);
        pango_font_description_free(d);
    }
    if (rc == LETTER_PDF_OK) rc = body(cr, ctx, in, &pages);
    g_object_unref(ctx);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_status_t st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (rc == LETTER_PDF_OK && sink.over) rc = LETTER_PDF_TOO_LARGE;
    else if (rc == LETTER_PDF_OK && (st != CAIRO_STATUS_SUCCESS || sink.failed)) rc = LETTER_PDF_FAILED;
    if (rc != LETTER_PDF_OK) {
        free(sink.p);
        return rc;
    }
    *out = (letter_pdf_t){sink.p, sink.len, pages, letter_body_pt(in->large_print)};
    return LETTER_PDF_OK;
}

int letter_pdf_render(const letter_input_t *in, letter_pdf_t *out, size_t *bad) {
    pthread_once(&setup_once, setup);
    if (font_map == NULL) return LETTER_PDF_FAILED;
    if (!have_noto) return LETTER_PDF_NO_FONT;
    pthread_mutex_lock(&render_lock);
    int rc = render_locked(in, out, bad);
    pthread_mutex_unlock(&render_lock);
    return rc;
}

void letter_pdf_shutdown(void) {
    pthread_mutex_lock(&render_lock);
    /* Pango's font map holds fontconfig's font sets: let them go. (FcFini
     * would abort: Cairo's font cache keeps fontconfig's caches.) */
    if (font_map) g_object_unref(font_map);
    font_map = NULL;
    have_noto = false;
    pthread_mutex_unlock(&render_lock);
}

void letter_pdf_free(letter_pdf_t *pdf) {
    if (pdf == NULL) return;
    free(pdf->data);
    *pdf = (letter_pdf_t){0};
}

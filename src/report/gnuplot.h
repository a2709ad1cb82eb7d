/* gnuplot figures: each figure is its data (one or more TSV tables), a self-contained script
 * NAME.gp that draws it to NAME.png (pngcairo) and NAME.svg, and the rendering of that script
 * by the gnuplot found on PATH.
 *
 * The script is rerunnable from inside the report directory ("gnuplot NAME.gp", or all of
 * them at once with "gnuplot *.gp", which runs them in one session): it refers to its tables
 * by relative names and writes NAME.png and NAME.svg. mli itself runs it with
 * -e "mli_output='NAME.tmp-PID'", so that it draws to temporary names that are renamed into
 * place: a killed report never leaves a half-drawn image under its final name.
 *
 * Every figure shares one style: the palette (linetypes 1-8, which survive "reset"), the
 * font, the grid and the key below the plot. A plot starts with "@defaults" (emitted by
 * mli_gp_panel), which resets whatever the previous panel of a multiplot set. */
#ifndef MLI_GNUPLOT_H
#define MLI_GNUPLOT_H

#include <stddef.h>

#include "io/text.h"

enum { MLI_GP_MAXTAB = 4 };

/* The palette, by role: colour-blind-safe (Okabe-Ito), used by every figure. */
enum {
    MLI_LT_TRAIN = 1, /* blue */
    MLI_LT_TEST = 2,  /* vermillion */
    MLI_LT_3 = 3,     /* bluish green */
    MLI_LT_4 = 4,     /* reddish purple */
    MLI_LT_5 = 5,     /* orange */
    MLI_LT_6 = 6,     /* sky blue */
    MLI_LT_REF = 7,   /* grey dashed: reference lines (zero, pi/2) */
    MLI_LT_BLACK = 8
};

/* The colour of linetype lt as "#RRGGBB", for a transparent variant ("#AARRGGBB", where AA
 * is the transparency) of a palette colour, e.g. for many overlapping curves. */
const char *mli_gp_rgb(int lt);

typedef struct {
    char name[64];
    int ntab;
    struct {
        char file[96]; /* NAME.tsv or NAME_SUFFIX.tsv */
        mli_buf text;
    } tab[MLI_GP_MAXTAB];
    mli_buf body;   /* drawing commands, run once per terminal */
    mli_buf plot;   /* the plot command being built */
    int nitems;     /* its items, -1 outside one */
    int key_n;      /* its key entries and their longest title, in characters */
    int key_len;
    double panel_w; /* width of the current panel, as a fraction of the canvas */
    int width, height; /* canvas in pixels (0: the report's common size) */
} mli_gp_fig;

void mli_gp_init(mli_gp_fig *f, const char *name);
/* A canvas other than the common one, for figures of side-by-side panels. */
void mli_gp_size(mli_gp_fig *f, int width, int height);
void mli_gp_free(mli_gp_fig *f);

/* A data table of the figure: suffix "" is NAME.tsv, else NAME_SUFFIX.tsv. Returns the
 * buffer to fill (header line then rows) and, through file, its name for plot commands. */
mli_buf *mli_gp_table(mli_gp_fig *f, const char *suffix, const char **file);

/* Append drawing commands (a newline is added). */
void mli_gp_cmd(mli_gp_fig *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Start a panel: the shared style, reset from anything an earlier panel set. */
void mli_gp_panel(mli_gp_fig *f);
/* A multiplot of rows x cols panels with an overall title (plain text, quoted here); rows 0
 * leaves the placement to "set origin/size" in each panel. mli_gp_cmd "unset multiplot"
 * ends it. */
void mli_gp_multiplot(mli_gp_fig *f, int rows, int cols, const char *title);
/* Place the next panel of a multiplot at (x, y), size (w, h), in fractions of the canvas. */
void mli_gp_place(mli_gp_fig *f, double x, double y, double w, double h);
/* Build a plot command item by item: mli_gp_plot, mli_gp_item..., mli_gp_end. Items are
 * "'file' using ... with ... title 'text'" (or notitle); mli_gp_end lays out the key below the
 * plot from their titles and sets the bottom margin to fit it. */
void mli_gp_plot(mli_gp_fig *f);
void mli_gp_item(mli_gp_fig *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mli_gp_end(mli_gp_fig *f);

/* Escape text for a double-quoted gnuplot string shown in enhanced mode: quotes and
 * backslashes for the string, and the enhanced-text markup characters ^ _ @ & ~ { }. */
void mli_gp_quote(mli_buf *b, const char *text);

/* Write the tables and NAME.gp into dir (atomically). */
int mli_gp_write(const mli_gp_fig *f, const char *dir);
/* Find gnuplot on PATH; 1 and its path in buf if found. */
int mli_gp_find(char *buf, size_t n);
/* Run dir/NAME.gp with the gnuplot at path, from inside dir; NAME.png and NAME.svg appear
 * only if it succeeds and both images are whole (mli_gp_check_png, mli_gp_check_svg: gnuplot
 * exits 0 when it could not write them, on a full disk say); otherwise the temporary images
 * are removed and nothing is put in place. A failure (MLI_EFAIL) names the script and quotes
 * gnuplot's error, or names the image and why it is incomplete, with the system's error
 * ("No space left on device") when the file system shows one. */
int mli_gp_render(const char *gnuplot, const char *dir, const char *name);
/* Is this a whole PNG (signature, IHDR first, every chunk within the file with a good CRC,
 * IEND last and at the very end) / a whole SVG (non-empty, an <svg> element, ending with
 * </svg>)? MLI_OK, or MLI_EFAIL with the reason in why. */
int mli_gp_check_png(const unsigned char *p, size_t n, char *why, size_t nwhy);
int mli_gp_check_svg(const unsigned char *p, size_t n, char *why, size_t nwhy);
/* Remove NAME.tsv, NAME_*.tsv, NAME.gp, NAME.png, NAME.svg of a figure no longer drawn. */
void mli_gp_remove(const char *dir, const char *name);

/* A figure as a report page lists it, once written. */
typedef struct {
    char name[64];
    const char *heading;
    mli_buf caption; /* HTML */
    int ntab, rendered;
    char tab[MLI_GP_MAXTAB][96];
    char why[256]; /* why it was not rendered, when gnuplot was there */
} mli_gp_entry;

/* Where a report renders its figures, and its first rendering failure. */
typedef struct {
    const char *dir;     /* the report directory */
    const char *gnuplot; /* the gnuplot binary, NULL when there is none */
    int rc;
    char *err; /* the first failure's message */
    int more;  /* further figures not rendered */
} mli_gp_sink;

/* After a figure function filled f (made = 1) or left it out (made = 0): remove the files of
 * an earlier figure of that name (a figure not drawn now must not linger unlinked), write the
 * new one, render it, and describe it in *e (whose caption the figure function wrote; it is
 * freed when the figure is left out). Returns the status of writing; a rendering failure
 * leaves e->rendered = 0 and is recorded in the sink (the first one). */
int mli_gp_entry_make(mli_gp_sink *s, mli_gp_fig *f, int made, const char *heading, mli_gp_entry *e);
/* The outcome once every figure is written: MLI_EFAIL saying how to render later when there
 * is no gnuplot, the first rendering failure, or MLI_OK. */
int mli_gp_sink_status(const mli_gp_sink *s);
void mli_gp_sink_free(mli_gp_sink *s);
/* The report's closing status, and the sink freed: the sink's status when the page was written
 * (rc = MLI_OK); otherwise rc, its message prefixed by the first figure a full disk cut. */
int mli_gp_sink_close(mli_gp_sink *s, int rc);

#endif

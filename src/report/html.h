/* What every index.html of mli shares: the style sheet and the escaping of text from input
 * files (run names, configuration values, JSON strings), so that the run report and the
 * sweep report look alike and neither lets input text become markup. */
#ifndef MLI_HTML_H
#define MLI_HTML_H

#include "io/text.h"
#include "report/gnuplot.h"

/* The CSS of the reports, inlined in a <style> element: the page is self-contained. */
extern const char *const mli_html_css;

/* Append s with & < > " ' escaped: safe in element content and in quoted attributes. */
void mli_html_esc(mli_buf *b, const char *s);

/* A figure's section of a report page: the PNG linked to its SVG, the caption, links to
 * its data and script (a note instead of the image when it was not rendered). */
void mli_html_figure(mli_buf *b, const mli_gp_entry *e, int have_gnuplot);

#endif

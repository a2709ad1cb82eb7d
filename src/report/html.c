#include "report/html.h"

const char *const mli_html_css =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1000px;margin:1.5em auto;"
    "padding:0 1em;color:#222;line-height:1.45}\n"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;"
    "margin-top:1.8em}h3{font-size:1.05em;margin-bottom:.3em}\n"
    "table{border-collapse:collapse;font-size:.9em}th,td{padding:.2em .6em;border:1px solid #ddd;"
    "text-align:left;vertical-align:top}th{background:#f4f4f4;font-weight:600}\n"
    "table.config{table-layout:fixed;width:100%}table.config th{width:20%}"
    "table.config td{width:13.3%;font-family:'DejaVu Sans Mono',monospace;font-size:.92em;"
    "overflow-wrap:anywhere}\n"
    "img{max-width:100%;height:auto;border:1px solid #eee}.cap{margin:.3em 0}"
    ".files{font-size:.85em;color:#555}.na{color:#999}.bad{color:#b00}"
    ".warn{background:#fff4e0;border:1px solid #e0b060;padding:.5em}"
    "nav a{margin-right:.8em}code{font-size:.95em}\n";

void mli_html_esc(mli_buf *b, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': mli_buf_printf(b, "&amp;"); break;
        case '<': mli_buf_printf(b, "&lt;"); break;
        case '>': mli_buf_printf(b, "&gt;"); break;
        case '"': mli_buf_printf(b, "&quot;"); break;
        case '\'': mli_buf_printf(b, "&#39;"); break;
        default: mli_buf_printf(b, "%c", *s);
        }
}

void mli_html_figure(mli_buf *b, const mli_gp_entry *e, int have_gnuplot)
{
    mli_buf_printf(b, "<section class=\"fig\" id=\"%s\">\n<h3>%s</h3>\n", e->name, e->heading);
    if (e->rendered)
        mli_buf_printf(b, "<a href=\"%s.svg\"><img src=\"%s.png\" width=\"960\" height=\"600\" alt=\"%s\"></a>\n",
                       e->name, e->name, e->heading);
    else {
        mli_buf_printf(b, "<p class=\"warn\">Not rendered (");
        if (!have_gnuplot)
            mli_buf_printf(b, "gnuplot not found");
        else
            mli_html_esc(b, e->why[0] ? e->why : "gnuplot failed");
        mli_buf_printf(b, "): the data and the gnuplot script are below.</p>\n");
    }
    mli_buf_printf(b, "<p class=\"cap\">%s</p>\n<p class=\"files\">", e->caption.s ? e->caption.s : "");
    if (e->rendered)
        mli_buf_printf(b, "<a href=\"%s.svg\">SVG</a> · <a href=\"%s.png\">PNG</a> · ", e->name, e->name);
    for (int i = 0; i < e->ntab; i++)
        mli_buf_printf(b, "<a href=\"%s\">%s</a> · ", e->tab[i], e->tab[i]);
    mli_buf_printf(b, "<a href=\"%s.gp\">%s.gp</a> (gnuplot script)</p>\n</section>\n", e->name, e->name);
}

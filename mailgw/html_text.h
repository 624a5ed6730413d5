/* html_text.h - readable plain text from an HTML mail body.
 *
 * Uses gumbo (the HTML5 parser) on the whole document, then walks the
 * tree: scripts, styles and the head are dropped, block elements start
 * new lines, list items get "- ", links keep their target as
 * "text <url>", and everything inside <blockquote> is prefixed with "> "
 * so quote stripping (quote.h) treats an HTML reply like a text one. */
#ifndef MGW_HTML_TEXT_H
#define MGW_HTML_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Renders html[0..len) (UTF-8) as text of at most max_out bytes (longer
 * text is cut with a note). Returns NULL when the document is too deeply
 * nested to parse in bounded time (gumbo is quadratic in nesting depth)
 * or larger than max_in; the caller keeps the HTML as an attachment then.
 * The caller frees the result. */
char *html_text(const char *html, size_t len, size_t max_in, size_t max_out);

/* The largest nesting depth html_text accepts. */
#define HTML_TEXT_MAX_DEPTH 800

#endif

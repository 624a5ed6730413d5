/* quote.h - the new part of a reply: quoted history and signature
 * removed, for the comment body. The caller keeps the full text too.
 *
 * Recognised: "On ... wrote:" attributions (and their German, French,
 * Spanish, Italian, Dutch, Portuguese, Nordic, Polish, Russian, Czech,
 * Hungarian, Turkish, Greek, Chinese and Japanese forms, wrapped over two
 * lines as Gmail does), Outlook's "-----Original Message-----" lines and
 * "From:/Sent:/To:/Subject:" blocks in those languages (optionally after
 * a line of underscores), trailing "> " quote blocks, "-- " signatures
 * and "Sent from my iPhone"-style lines. Inline replies (answers between
 * quoted lines) are left alone: cutting them would lose the answers. */
#ifndef MGW_QUOTE_H
#define MGW_QUOTE_H

/* The stripped text, or NULL when nothing was stripped or stripping
 * would leave nothing. The caller frees. */
char *quote_strip(const char *text);

#endif

/* quote.h - the new part of a reply: quoted history and signature
 * removed, for the comment body. The caller keeps the full text too.
 *
 * Top-posted replies lose everything from the start of the history: an
 * attribution ("On ... wrote:" in the languages of quote_attrib.c,
 * wrapped over up to three lines) over unquoted text, an Outlook, Lotus
 * or GMX header block ("From:/Sent:/Subject:", optionally after a line
 * of underscores) or an "Original Message" separator. Bottom-posted
 * replies (one quote block, then the answer) lose the quote and its
 * attribution. Interleaved replies keep each answer with the quoted
 * lines just above it (the last quoted paragraph, at most three lines)
 * and lose the rest of the quote. A forward is content and stays whole.
 * Signatures, phone lines, list footers, closings with contact details
 * and disclaimers go when they certainly are such (quote_sig.c).
 * format=flowed text is decoded before this, by mime.c (flowed.h).
 * Fixtures: tests/data/mail/replies/. */
#ifndef MGW_QUOTE_H
#define MGW_QUOTE_H

/* The stripped text, or NULL when nothing was stripped or stripping
 * would leave nothing of the sender's own. subject (may be NULL) tells
 * a forward ("Fwd:", "WG:", ...) whose header block is content. The
 * caller frees. */
char *quote_strip_reply(const char *text, const char *subject);

/* quote_strip_reply(text, NULL). */
char *quote_strip(const char *text);

#endif

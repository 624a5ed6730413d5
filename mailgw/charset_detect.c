/* charset_detect.c - which charset undeclared 8-bit text is in: raw
 * Subjects, display names, file names and bodies from mailers that never
 * say (Chinese and Japanese ones above all).
 *
 * Order (charset.h): valid UTF-8 is taken before this file is asked;
 * then the charset the mail declares elsewhere (its body, another
 * encoded word: a mailer uses one charset for everything it writes);
 * then uchardet (mime.c also runs it once over the whole mail when
 * nothing is declared, since a display name of four bytes is too little
 * to tell, and passes the verdict as the hint). A candidate is taken
 * only if it converts the bytes without one replacement.
 *
 * uchardet is trusted for the scripts it tells apart well (CJK
 * multi-byte encodings, Cyrillic, Greek, Hebrew, Arabic, Thai) but not
 * for one Latin single-byte charset against another: on a short Polish
 * or German subject it answers windows-1252 or ISO-8859-3 about as
 * often as the truth, and windows-1252, the fallback, reads most Latin
 * text right anyway. */
#include "charset.h"

#include <string.h>
#include <strings.h>
#include <uchardet/uchardet.h>

#define MAX_DETECT (64u << 10) /* enough bytes for a verdict, bounded work */

/* A conversion that replaces nothing, appended to out; else false. */
static bool clean(const char *name, const char *in, size_t len, struct buf *out)
{
    if (!charset_known(name))
        return false;
    struct buf tmp = BUF_INIT;
    bool lossy = false;
    charset_to_utf8(name, in, len, &tmp, &lossy);
    if (!lossy)
        buf_append(out, tmp.data ? tmp.data : "", tmp.len);
    buf_free(&tmp);
    if (!lossy && out->data == NULL)
        buf_puts(out, "");
    return !lossy;
}

/* Charsets uchardet is not trusted to choose among (see the top). */
static bool latin_single_byte(const char *name)
{
    static const char *const prefixes[] = { "ISO-8859-1", "ISO-8859-2", "ISO-8859-3",
                                            "ISO-8859-4", "ISO-8859-9", "ISO-8859-13",
                                            "ISO-8859-15", "ISO-8859-16", "WINDOWS-125",
                                            "IBM85", "MAC-CENTRALEUROPE", "ASCII" };
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncasecmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return strcasecmp(name, "WINDOWS-1251") != 0 && strcasecmp(name, "WINDOWS-1253") != 0 &&
                   strcasecmp(name, "WINDOWS-1255") != 0 && strcasecmp(name, "WINDOWS-1256") != 0;
    return false;
}

bool charset_detect(const char *in, size_t len, char out[48])
{
    out[0] = '\0';
    uchardet_t u = uchardet_new();
    if (u == NULL)
        return false;
    if (uchardet_handle_data(u, in, len > MAX_DETECT ? MAX_DETECT : len) == 0) {
        uchardet_data_end(u);
        const char *name = uchardet_get_charset(u);
        if (name && name[0] && strlen(name) < 48 && !latin_single_byte(name) &&
            strcasecmp(name, "UTF-8") != 0 && charset_known(name))
            strcpy(out, name); /* length checked above */
    }
    uchardet_delete(u);
    return out[0] != '\0';
}

bool charset_guess(const char *in, size_t len, const char *hint, struct buf *out)
{
    if (len == 0)
        return false;
    if (hint && hint[0] && clean(hint, in, len, out))
        return true;
    char name[48];
    return charset_detect(in, len, name) && clean(name, in, len, out);
}

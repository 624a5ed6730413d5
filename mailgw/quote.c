/* quote.c - see quote.h.
 *
 * Works on lines. The cut point is the first line that starts quoted
 * history; the text after it goes, then a signature and trailing quote
 * blocks go, then trailing blank lines. Every pattern asks for more than
 * a keyword (a digit or an '@' in an attribution, a Sent/Date and a
 * Subject line after a From line), because a false cut loses the
 * customer's words from the comment. */
#include "quote.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"

#define MAX_ATTRIBUTION 400
#define MAX_SIG_LINES 20

struct line {
    const char *s;
    size_t n;
};

static bool blank(struct line l)
{
    for (size_t i = 0; i < l.n; i++)
        if (l.s[i] != ' ' && l.s[i] != '\t' && l.s[i] != '\r')
            return false;
    return true;
}

static bool quoted(struct line l)
{
    size_t i = 0;
    while (i < l.n && l.s[i] == ' ')
        i++;
    return i < l.n && l.s[i] == '>';
}

/* Trims white space (and Gmail's "*bold*" markers around labels). */
static struct line trim(struct line l)
{
    while (l.n && (l.s[0] == ' ' || l.s[0] == '\t' || l.s[0] == '*')) {
        l.s++;
        l.n--;
    }
    while (l.n && (l.s[l.n - 1] == ' ' || l.s[l.n - 1] == '\t' || l.s[l.n - 1] == '\r'))
        l.n--;
    return l;
}

static bool ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

static bool contains_ci(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(s + i, word, k) == 0)
            return true;
    return false;
}

static bool has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9')
            return true;
    return false;
}

static const char *const wrote_words[] = {
    "wrote",   "writes",   "schrieb", "a écrit", "escribió", "ha scritto", "schreef",
    "escreveu", "skrev",   "kirjoitti", "napisał", "napisal", "написал",  "napsal",
    "írta",    "yazdı",    "έγραψε",  "写道",    "wrote on",
};

/* Is s[0..n) an attribution line like "On <date>, <name> wrote:"? */
static bool attribution(const char *s, size_t n)
{
    if (n == 0 || n > MAX_ATTRIBUTION)
        return false;
    bool colon = s[n - 1] == ':' || ends_with_ci(s, n, "\xef\xbc\x9a"); /* full-width ':' */
    if (!colon)
        return false;
    bool evidence = has_digit(s, n) || memchr(s, '@', n) != NULL;
    for (size_t i = 0; i < sizeof wrote_words / sizeof *wrote_words; i++) {
        const char *w = wrote_words[i];
        size_t k = strlen(w);
        /* "... wrote:" / "... a écrit :" at the end */
        size_t m = n - (s[n - 1] == ':' ? 1 : 3);
        while (m > 0 && s[m - 1] == ' ')
            m--;
        if (ends_with_ci(s, m, w) && (m == k || s[m - k - 1] == ' ' || s[m - k - 1] == ','))
            return evidence || n < 80;
        /* "Am 03.06.24 um 10:00 schrieb Bob:" */
        if (contains_ci(s, n, w) && has_digit(s, n))
            return true;
    }
    /* Gmail in some languages: "<date> Name <addr>:" */
    return n >= 3 && s[n - 2] == '>' && memchr(s, '@', n) && has_digit(s, n);
}

static bool original_message_line(struct line l)
{
    static const char *const words[] = {
        "original message",   "ursprüngliche nachricht", "message d'origine",
        "mensaje original",   "messaggio originale",     "oorspronkelijk bericht",
        "mensagem original",  "originalmeddelande",      "alkuperäinen viesti",
        "wiadomość oryginalna", "исходное сообщение",    "original meddelelse",
        "opprinnelig melding",
    };
    l = trim(l);
    if (l.n < 6 || strncmp(l.s, "--", 2) != 0)
        return false;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (contains_ci(l.s, l.n, words[i]))
            return true;
    return false;
}

/* "From:" / "De :" ... : which label (if any) starts the line. */
static bool label(struct line l, const char *const *labels)
{
    l = trim(l);
    for (size_t i = 0; labels[i]; i++) {
        size_t k = strlen(labels[i]);
        if (l.n <= k || strncasecmp(l.s, labels[i], k) != 0)
            continue;
        size_t j = k;
        while (j < l.n && (l.s[j] == ' ' || l.s[j] == '*' ||
                           (j + 1 < l.n && (unsigned char)l.s[j] == 0xC2 && (unsigned char)l.s[j + 1] == 0xA0)))
            j += (unsigned char)l.s[j] == 0xC2 ? 2 : 1;
        if (j < l.n && (l.s[j] == ':' || (j + 3 <= l.n && memcmp(l.s + j, "\xef\xbc\x9a", 3) == 0)))
            return true;
    }
    return false;
}

static const char *const from_labels[] = { "From", "Von", "De", "Da", "Van", "Från", "Fra",
                                           "Od", "От", "Lähettäjä", "Kimden", "差出人", "发件人",
                                           NULL };
static const char *const sent_labels[] = { "Sent", "Date", "Gesendet", "Datum", "Envoyé",
                                           "Date d'envoi", "Enviado", "Enviado el", "Fecha",
                                           "Inviato", "Data", "Verzonden", "Skickat", "Sendt",
                                           "Wysłano", "Отправлено", "Lähetetty", "Gönderildi",
                                           "Tarih", "送信日時", "发送时间", "Odesláno", NULL };
static const char *const subject_labels[] = { "Subject", "Betreff", "Objet", "Asunto", "Oggetto",
                                              "Onderwerp", "Ämne", "Emne", "Temat", "Тема",
                                              "Assunto", "Aihe", "Konu", "件名", "主题",
                                              "Předmět", NULL };

/* An Outlook header block: a From line, then within a few lines a
 * Sent/Date line and a Subject line. */
static bool outlook_block(const struct line *lines, size_t n, size_t i)
{
    if (!label(lines[i], from_labels))
        return false;
    bool sent = false, subject = false;
    for (size_t k = i + 1; k < n && k <= i + 6; k++) {
        if (label(lines[k], sent_labels))
            sent = true;
        if (label(lines[k], subject_labels))
            subject = true;
    }
    return sent && subject;
}

static bool underscores(struct line l)
{
    l = trim(l);
    if (l.n < 10)
        return false;
    for (size_t i = 0; i < l.n; i++)
        if (l.s[i] != '_')
            return false;
    return true;
}

static bool mobile_signature(struct line l)
{
    static const char *const sigs[] = {
        "sent from my ",          "sent from outlook",        "get outlook for ",
        "sent from mail for windows", "sent from yahoo mail", "sent via ",
        "von meinem iphone gesendet", "von meinem ipad gesendet", "gesendet von meinem ",
        "von meinem smartphone gesendet", "envoyé de mon ",    "envoyé depuis mon ",
        "enviado desde mi ",      "enviado do meu ",          "inviato da ",
        "verzonden vanaf mijn ",  "verstuurd vanaf mijn ",     "skickat från min ",
        "wysłane z mojego ",      "отправлено с ",
    };
    l = trim(l);
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        size_t k = strlen(sigs[i]);
        if (l.n >= k && l.n < 80 && strncasecmp(l.s, sigs[i], k) == 0)
            return true;
    }
    return false;
}

/* Inline replies: after the attribution, unquoted text followed later
 * by more quoted text. */
static bool interleaved(const struct line *lines, size_t n, size_t from)
{
    bool answer = false;
    for (size_t k = from; k < n; k++) {
        if (blank(lines[k]))
            continue;
        if (quoted(lines[k])) {
            if (answer)
                return true;
        } else {
            struct line t = trim(lines[k]);
            if (t.n == 2 && strncmp(t.s, "--", 2) == 0)
                return false; /* a signature follows */
            answer = true;
        }
    }
    return false;
}

/* "---------- Forwarded message ---------", "Begin forwarded message:":
 * what follows is content the sender passes on, not history to cut. */
static bool forward_marker(struct line l)
{
    static const char *const words[] = {
        "forwarded message",     "begin forwarded message", "weitergeleitete nachricht",
        "message transféré",     "mensaje reenviado",       "messaggio inoltrato",
        "doorgestuurd bericht",  "mensagem encaminhada",    "vidarebefordrat meddelande",
        "original message follows",
    };
    l = trim(l);
    if (l.n > 120)
        return false;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (contains_ci(l.s, l.n, words[i]))
            return true;
    return false;
}

static size_t find_cut(const struct line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (quoted(lines[i]))
            continue;
        if (forward_marker(lines[i]))
            return n;
        struct line t = trim(lines[i]);
        if (original_message_line(lines[i]))
            return i;
        if (underscores(lines[i]) && i + 1 < n && outlook_block(lines, n, i + 1))
            return i;
        if (outlook_block(lines, n, i))
            return i;
        if (attribution(t.s, t.n))
            return interleaved(lines, n, i + 1) ? n : i;
        if (i + 1 < n && !quoted(lines[i + 1]) && !blank(lines[i + 1]) && t.n > 0 &&
            t.n < MAX_ATTRIBUTION) {
            /* Gmail wraps long attributions: join with the next line. */
            struct line u = trim(lines[i + 1]);
            struct buf j = BUF_INIT;
            buf_append(&j, t.s, t.n);
            buf_putc(&j, ' ');
            buf_append(&j, u.s, u.n);
            bool a = u.n < 40 && attribution(j.data, j.len);
            buf_free(&j);
            if (a)
                return interleaved(lines, n, i + 2) ? n : i;
        }
    }
    return n;
}

char *quote_strip(const char *text)
{
    if (text == NULL)
        return NULL;
    size_t n = 0, cap = 64;
    struct line *lines = td_malloc(cap * sizeof *lines);
    for (const char *p = text;;) {
        const char *nl = strchr(p, '\n');
        if (n == cap) {
            cap *= 2;
            lines = td_realloc(lines, cap * sizeof *lines);
        }
        lines[n++] = (struct line){ p, nl ? (size_t)(nl - p) : strlen(p) };
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    size_t total = n;
    size_t end = find_cut(lines, n);
    /* Trailing quote block (bottom quoting without an attribution). */
    for (;;) {
        while (end > 0 && blank(lines[end - 1]))
            end--;
        size_t k = end;
        while (k > 0 && (quoted(lines[k - 1]) || blank(lines[k - 1])))
            k--;
        if (k == end)
            break;
        end = k;
    }
    /* "-- " signature: the last one, if what follows is short. */
    for (size_t k = end; k-- > 0;) {
        struct line l = lines[k];
        if (l.n && l.s[l.n - 1] == '\r')
            l.n--;
        if ((l.n == 3 && strncmp(l.s, "-- ", 3) == 0) || (l.n == 2 && strncmp(l.s, "--", 2) == 0)) {
            if (end - k <= MAX_SIG_LINES)
                end = k;
            break;
        }
    }
    while (end > 0 && (blank(lines[end - 1]) || mobile_signature(lines[end - 1])))
        end--;
    char *r = NULL;
    bool changed = end < total;
    if (changed && end > 0) {
        /* Only trailing blank lines removed is no change worth keeping. */
        bool only_blank = true;
        for (size_t k = end; k < total; k++)
            if (!blank(lines[k]))
                only_blank = false;
        if (!only_blank) {
            const char *stop = lines[end - 1].s + lines[end - 1].n;
            while (stop > text && stop[-1] == '\r')
                stop--;
            r = td_strndup(text, (size_t)(stop - text));
        }
    }
    free(lines);
    return r;
}

/* quote_attrib.c - the lines that introduce quoted history: attribution
 * lines ("On <date>, <name> wrote:") in the languages customers write
 * in, a client's header block of the previous message ("From: / Sent: /
 * Subject:"), "Original Message" separators; and the markers of a
 * forward, whose quoted part is content.
 *
 * Every pattern asks for more than a keyword (a digit or an '@' in an
 * attribution, a Sent/Date and a Subject line after a From line),
 * because a false match loses the customer's words. */
#include "quote_int.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"

#define MAX_ATTRIBUTION 400
#define FULLWIDTH_COLON "\xef\xbc\x9a"

/* Verbs of "X wrote:" in the attributions of common mail clients. */
static const char *const wrote_words[] = {
    "wrote",     "writes",    "schrieb",  "a écrit",    "escribió", "ha scritto",
    "schreef",   "escreveu",  "skrev",    "kirjoitti",  "napisał",  "napisal",
    "pisze",     "написал",   "пишет",    "napsal",     "írta",     "yazdı",
    "έγραψε",    "写道",      "寫道",     "書きました", "のメール",
    "작성",      "skrev følgende", "wrote on",
};

static bool sentence_end(struct line t)
{
    if (t.n == 0)
        return false;
    char c = t.s[t.n - 1];
    return c == '.' || c == '!' || c == '?' || c == ':';
}

/* An address, or a time or date ("10:00", "10.00", "03.06."): what a
 * client's attribution has and a sentence like "I wrote 2 tickets
 * about this:" has not. */
static bool dated(const char *s, size_t n)
{
    if (memchr(s, '@', n))
        return true;
    for (size_t i = 0; i + 3 < n; i++)
        if (s[i] >= '0' && s[i] <= '9' && (s[i + 1] == ':' || s[i + 1] == '.') &&
            s[i + 2] >= '0' && s[i + 2] <= '9' && s[i + 3] >= '0' && s[i + 3] <= '9')
            return true;
    return false;
}

/* Is s[0..n) (trimmed, joined) an attribution line? */
static bool attribution(const char *s, size_t n)
{
    if (n == 0 || n > MAX_ATTRIBUTION)
        return false;
    size_t m; /* length without the final colon */
    if (s[n - 1] == ':')
        m = n - 1;
    else if (quote_mem_ends_with_ci(s, n, FULLWIDTH_COLON))
        m = n - 3;
    else if (n > 8 && strncmp(s, "---", 3) == 0 && quote_mem_ends_with_ci(s, n, "---"))
        for (m = n; m > 0 && s[m - 1] == '-';) /* Zoho: "---- On ... wrote ----" */
            m--;
    else
        return false;
    while (m > 0 && s[m - 1] == ' ')
        m--;
    bool digit = quote_mem_has_digit(s, n);
    bool at = memchr(s, '@', n) != NULL;
    for (size_t i = 0; i < sizeof wrote_words / sizeof *wrote_words; i++) {
        const char *w = wrote_words[i];
        size_t k = strlen(w);
        /* "... wrote:", "... a écrit :", "... napisał(a):" at the end */
        size_t mm = m;
        if (mm >= 3 && strncmp(s + mm - 3, "(a)", 3) == 0)
            mm -= 3;
        if (quote_mem_ends_with_ci(s, mm, w) &&
            (mm == k || s[mm - k - 1] == ' ' || s[mm - k - 1] == ',' || (unsigned char)w[0] >= 0x80))
            return digit || at || n < 80;
        /* "Am 03.06.24 um 10:00 schrieb Bob:" */
        if (quote_mem_contains_ci(s, n, w) && dated(s, n))
            return true;
    }
    /* Gmail in some languages: "<date> Name <addr>:"; mutt's
     * "* Name <addr> [2024-06-03 10:00]:" */
    if (m > 0 && (s[m - 1] == '>' || s[m - 1] == ']') && at && digit)
        return true;
    return false;
}

/* Lines i..i+k-1 joined with spaces form an attribution. */
static bool attribution_range(const struct line *lines, size_t n, size_t i, size_t k)
{
    if (i + k > n)
        return false;
    struct buf j = BUF_INIT;
    bool ok = true;
    for (size_t x = i; x < i + k && ok; x++) {
        struct line t = quote_line_trim(lines[x]);
        if (t.n == 0 || quote_line_quoted(lines[x]) || j.len + t.n > MAX_ATTRIBUTION)
            ok = false;
        else if (x + 1 < i + k && sentence_end(t))
            ok = false; /* a finished sentence does not wrap on */
        if (ok) {
            if (j.len)
                buf_putc(&j, ' ');
            buf_append(&j, t.s, t.n);
        }
    }
    ok = ok && attribution(j.data, j.len);
    buf_free(&j);
    return ok;
}

/* A digit or an '@' in lines i..i+k-1: a date or an address. */
static bool evidence(const struct line *lines, size_t i, size_t k)
{
    for (size_t x = i; x < i + k; x++)
        if (quote_mem_has_digit(lines[x].s, lines[x].n) || memchr(lines[x].s, '@', lines[x].n))
            return true;
    return false;
}

bool quote_attribution_dated(const struct line *lines, size_t i, size_t k)
{
    for (size_t x = i; x < i + k; x++)
        if (dated(lines[x].s, lines[x].n))
            return true;
    return false;
}

size_t quote_attribution_at(const struct line *lines, size_t n, size_t i)
{
    for (size_t k = 1; k <= 3; k++) {
        if (!attribution_range(lines, n, i, k))
            continue;
        /* The customer's last line just above a wrapped attribution is
         * not part of it: the attribution starting later wins, unless
         * this first line has a date or an address of its own ("On
         * Tue, 4 Jun 2024," then "Someone <a@b>" then "wrote:"). */
        for (size_t later = 1; later < k && !evidence(lines, i, 1); later++)
            if (evidence(lines, i + later, k - later) &&
                attribution_range(lines, n, i + later, k - later))
                return 0;
        return k;
    }
    return 0;
}

static bool lotus_marker(struct line l);

bool quote_original_message(struct line l)
{
    if (lotus_marker(l))
        return true;
    static const char *const words[] = {
        "original message",     "ursprüngliche nachricht", "message d'origine",
        "mensaje original",     "messaggio originale",     "oorspronkelijk bericht",
        "mensagem original",    "originalmeddelande",      "alkuperäinen viesti",
        "wiadomość oryginalna", "исходное сообщение",      "original meddelelse",
        "opprinnelig melding",  "原始邮件",                "元のメッセージ",
        "original-nachricht",
    };
    l = quote_line_trim(l);
    if (l.n < 6 || l.n > 120 || strncmp(l.s, "--", 2) != 0)
        return false;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (quote_mem_contains_ci(l.s, l.n, words[i]))
            return true;
    return false;
}

/* Lotus Notes 8.5+ flattens its graphic attribution to
 * "Name ---03.06.2024 10:00:00---Hello Peter, ...": a date between two
 * "---", after some text. */
static bool lotus_marker(struct line l)
{
    l = quote_line_trim(l);
    if (l.n > 2000)
        return false;
    for (size_t i = 1; i + 3 < l.n; i++) {
        if (memcmp(l.s + i, "---", 3) != 0 || l.s[i - 1] != ' ')
            continue;
        size_t j = i + 3, digits = 0;
        while (j < l.n && j < i + 40 && strchr("0123456789./-: APMapm", l.s[j]) && l.s[j] != '-') {
            digits += l.s[j] >= '0' && l.s[j] <= '9';
            j++;
        }
        if (digits >= 6 && j + 3 <= l.n && memcmp(l.s + j, "---", 3) == 0)
            return true;
    }
    return false;
}

/* Does the line start with one of labels, then ':' (ASCII or
 * full-width, after optional blanks, no-break spaces or '*')? */
static bool label(struct line l, const char *const *labels)
{
    l = quote_line_trim(l);
    for (size_t i = 0; labels[i]; i++) {
        size_t k = strlen(labels[i]);
        if (l.n <= k || strncasecmp(l.s, labels[i], k) != 0)
            continue;
        size_t j = k;
        for (;;) {
            if (j < l.n && (l.s[j] == ' ' || l.s[j] == '*' || l.s[j] == '\t'))
                j++;
            else if (j + 1 < l.n && (unsigned char)l.s[j] == 0xC2 && (unsigned char)l.s[j + 1] == 0xA0)
                j += 2;
            else
                break;
        }
        if (j < l.n && (l.s[j] == ':' || (j + 3 <= l.n && memcmp(l.s + j, FULLWIDTH_COLON, 3) == 0)))
            return true;
    }
    return false;
}

static const char *const from_labels[] = { "From", "Von", "De", "Da", "Van", "Från", "Fra",
                                           "Od", "От", "Lähettäjä", "Kimden", "差出人", "发件人",
                                           "寄件者", NULL };
static const char *const sent_labels[] = { "Sent", "Date", "Gesendet", "Datum", "Envoyé",
                                           "Date d'envoi", "Enviado", "Enviado el", "Fecha",
                                           "Inviato", "Data", "Verzonden", "Skickat", "Sendt",
                                           "Wysłano", "Wysłane", "Отправлено", "Дата",
                                           "Lähetetty", "Gönderildi", "Tarih", "送信日時",
                                           "日付", "发送时间", "日期", "時間", "Odesláno", NULL };
static const char *const subject_labels[] = { "Subject", "Betreff", "Objet", "Asunto", "Oggetto",
                                              "Onderwerp", "Ämne", "Emne", "Temat", "Тема",
                                              "Assunto", "Aihe", "Konu", "件名", "主题", "主旨",
                                              "Předmět", NULL };

/* A From (or Sent/Date) line, then within six lines the other one and
 * a Subject line. */
static bool header_block(const struct line *lines, size_t n, size_t i)
{
    /* GMX and Web.de put "Gesendet:" above "Von:" */
    bool from = label(lines[i], from_labels), sent = !from && label(lines[i], sent_labels);
    if (!from && !sent)
        return false;
    bool subject = false;
    for (size_t k = i + 1; k < n && k <= i + 6; k++) {
        from = from || label(lines[k], from_labels);
        sent = sent || label(lines[k], sent_labels);
        subject = subject || label(lines[k], subject_labels);
    }
    return from && sent && subject;
}

static bool underscores(struct line l)
{
    l = quote_line_trim(l);
    if (l.n < 10)
        return false;
    for (size_t i = 0; i < l.n; i++)
        if (l.s[i] != '_')
            return false;
    return true;
}

bool quote_header_block_at(const struct line *lines, size_t n, size_t i)
{
    if (quote_line_quoted(lines[i]))
        return false;
    if (underscores(lines[i])) {
        size_t k = i + 1;
        while (k < n && quote_line_blank(lines[k]))
            k++;
        return k < n && header_block(lines, n, k);
    }
    return header_block(lines, n, i);
}

bool quote_forward_marker(struct line l)
{
    static const char *const words[] = {
        "forwarded message",          "begin forwarded message",
        "weitergeleitete nachricht",  "anfang der weitergeleiteten",
        "message transféré",          "début du message réexpédié",
        "mensaje reenviado",          "messaggio inoltrato",
        "doorgestuurd bericht",       "mensagem encaminhada",
        "vidarebefordrat meddelande", "wiadomość przekazana",
        "пересылаемое сообщение",     "転送されたメッセージ",
        "转发的邮件",                 "転送メッセージ",
        "forwarded by ",
        "original message follows",
    };
    l = quote_line_trim(l);
    if (l.n > 120)
        return false;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (quote_mem_contains_ci(l.s, l.n, words[i]))
            return l.s[0] == '-' || l.s[l.n - 1] == ':' || l.s[l.n - 1] == '-' ||
                   quote_mem_ends_with_ci(l.s, l.n, FULLWIDTH_COLON);
    return false;
}

bool quote_subject_is_forward(const char *subject)
{
    static const char *const prefixes[] = { "fwd", "fw",    "wg", "tr", "rv", "i", "doorst",
                                            "vs",  "vb",    "pd", "enc", "pf", "пересл", "Пересл",
                                            "转发", "轉寄", "転送", NULL };
    if (subject == NULL)
        return false;
    const char *s = subject;
    /* skip "[#12] " and "[list] " tags */
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != '[')
            break;
        const char *close = strchr(s, ']');
        if (close == NULL)
            break;
        s = close + 1;
    }
    for (size_t i = 0; prefixes[i]; i++) {
        size_t k = strlen(prefixes[i]);
        if (strncasecmp(s, prefixes[i], k) != 0)
            continue;
        const char *p = s + k;
        while (*p == ' ')
            p++;
        if (*p == ':' || strncmp(p, FULLWIDTH_COLON, 3) == 0)
            return true;
    }
    return false;
}

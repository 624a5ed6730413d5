/* quote_sig.c - what closes a mail and carries no message: a "-- "
 * signature, a phone's "Sent from my iPhone" line, a mailing list's
 * footer, a corporate closing with contact details, a confidentiality
 * disclaimer.
 *
 * Only what is certainly a signature goes: a phone line must name a
 * device and nothing else ("Sent from my desk, so call me" is a
 * sentence), a closing must be followed by a short block with contact
 * details, a footer must use the list software's own wording. */
#include "quote_int.h"

#include <string.h>
#include <strings.h>

#define MAX_SIG_LINES 20
#define MAX_FOOTER_LINES 15
#define MAX_PHONE_LINE 60

static struct line at(const struct line *lines, size_t i)
{
    return quote_line_trim(lines[i]);
}

/* ---- "-- " --------------------------------------------------------- */

static size_t dashdash(const struct line *lines, size_t end)
{
    for (size_t k = end; k-- > 0 && end - k <= MAX_SIG_LINES + 1;) {
        struct line l = lines[k];
        if (l.n && l.s[l.n - 1] == '\r')
            l.n--;
        if ((l.n == 3 && strncmp(l.s, "-- ", 3) == 0) || (l.n == 2 && strncmp(l.s, "--", 2) == 0))
            return k;
    }
    return end;
}

/* ---- phones -------------------------------------------------------- */

static bool names_device(struct line l)
{
    static const char *const devices[] = {
        "iphone",  "ipad",     "ipod",     "android",  "galaxy",     "samsung",  "mobile",
        "phone",   "handy",    "blackberry", "huawei", "pixel",      "xiaomi",   "oneplus",
        "nokia",   "tablet",   "device",   "appareil", "dispositivo", "telefon", "motorola",
        "xperia",  "oppo",     "honor",    "móvil",    "movil",      "celular",  "cellulare",
        "mobiel",  "telefoon", "mobil",    "komórk",   "телефон",    "смартфон", "手机",
        "手機",    "smartphone", "watch",
    };
    for (size_t i = 0; i < sizeof devices / sizeof *devices; i++)
        if (quote_mem_contains_ci(l.s, l.n, devices[i]))
            return true;
    return false;
}

/* After a comma: at most four words, the last one a kind of device. */
static bool device_tail(const char *s, size_t n)
{
    static const char *const last[] = { "smartphone", "phone", "device", "tablet", "iphone", "ipad" };
    while (n && (s[n - 1] == '.' || s[n - 1] == ' '))
        n--;
    size_t words = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
            words++;
    if (words == 0 || words > 4)
        return false;
    for (size_t i = 0; i < sizeof last / sizeof *last; i++) {
        size_t k = strlen(last[i]);
        if (n >= k && strncasecmp(s + n - k, last[i], k) == 0 && (n == k || s[n - k - 1] == ' '))
            return true;
    }
    return false;
}

bool quote_phone_line(struct line l)
{
    /* Client names that are a signature on their own. */
    static const char *const whole[] = {
        "sent from outlook",    "get outlook for ios",     "get outlook for android",
        "sent from mail for windows", "sent from yahoo mail", "sent with protonmail",
        "sent from protonmail", "sent with proton mail", "sent from proton mail",
        "sent from gmail mobile", "sent from bluemail", "sent with aquamail", "sent with spark",
        "sent from spark", "sent from edison mail", "sent from fairemail",  "sent from the all new aol app",
        "sent from outlook for ios", "sent from outlook for android", "sent from my ipad",
    };
    /* "<prefix> <device>": the line must also name a device. */
    static const char *const prefixes[] = {
        "sent from my ",       "sent from ",          "sent with my ",     "sent via my ",
        "von meinem ",         "gesendet von meinem ", "gesendet mit ",    "envoyé de mon ",
        "envoyé depuis mon ",  "envoyé de ",          "enviado desde mi ", "enviado do meu ",
        "enviado de meu ",     "enviado desde ",      "inviato da ",       "inviato dal mio ",
        "verzonden vanaf mijn ", "verstuurd vanaf mijn ", "verzonden met ", "skickat från min ",
        "skickat från ",       "wysłane z mojego ",   "wysłane z ",        "отправлено с ",
        "отправлено из ",      "发自我的",            "从我的",            "來自我的",
    };
    l = quote_line_trim(l);
    if (l.n == 0 || l.n > MAX_PHONE_LINE || memchr(l.s, ';', l.n))
        return false;
    /* A comma starts a sentence ("Sent from my desk, call me ..."),
     * except in a carrier's "Sent from my Verizon, Samsung Galaxy
     * smartphone": there what follows it is a device name. */
    const char *comma = memrchr(l.s, ',', l.n);
    if (comma != NULL && !device_tail(comma + 1, (size_t)(l.s + l.n - comma - 1)))
        return false;
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++) {
        size_t k = strlen(whole[i]);
        if (quote_mem_starts_with_ci(l.s, l.n, whole[i]) &&
            (l.n == k || l.s[k] == '<' || l.s[k] == ' ' || l.s[k] == '.'))
            return true;
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (quote_mem_starts_with_ci(l.s, l.n, prefixes[i]))
            return names_device(l);
    /* Japanese "iPhoneから送信" */
    return quote_mem_ends_with_ci(l.s, l.n, "から送信") && names_device(l);
}

static size_t phone(const struct line *lines, size_t end)
{
    size_t k = end;
    while (k > 0 && quote_line_blank(lines[k - 1]))
        k--;
    if (k > 0 && quote_phone_line(lines[k - 1]))
        return k - 1;
    return end;
}

/* ---- mailing-list footers ------------------------------------------ */

static bool footer_start(const struct line *lines, size_t i, size_t end)
{
    static const char *const starts[] = {
        "you received this message because you are subscribed",
        "you are receiving this because you are subscribed",
        "you received this email because you are subscribed",
        "to unsubscribe from this group",
        "to unsubscribe from this list",
        "to unsubscribe send an email to",
        "to unsubscribe, send",
        "to unsubscribe, e-mail",
        "to unsubscribe, visit",
        "to view this discussion on the web",
        "unsubscribe: http",
        "unsubscribe: <",
        "reply to this email directly, view it on",
    };
    struct line l = at(lines, i);
    for (size_t k = 0; k < sizeof starts / sizeof *starts; k++)
        if (quote_mem_starts_with_ci(l.s, l.n, starts[k]))
            return true;
    /* Mailman 2: a line of underscores, the list name, its listinfo URL */
    if (l.n >= 10 && strspn(l.s, "_") == l.n)
        for (size_t k = i + 1; k < end && k <= i + 4; k++) {
            struct line u = at(lines, k);
            if (quote_mem_contains_ci(u.s, u.n, "mailing list") || quote_mem_contains_ci(u.s, u.n, "listinfo"))
                return true;
        }
    return false;
}

static size_t footer(const struct line *lines, size_t end)
{
    size_t cut = end;
    for (size_t k = end; k-- > 0 && end - k <= MAX_FOOTER_LINES;)
        if (!quote_line_quoted(lines[k]) && footer_start(lines, k, end))
            cut = k;
    /* Google Groups puts "-- " above its footer. */
    if (cut < end) {
        size_t k = cut;
        while (k > 0 && quote_line_blank(lines[k - 1]))
            k--;
        if (k > 0) {
            struct line d = lines[k - 1];
            if (d.n && d.s[d.n - 1] == '\r')
                d.n--;
            if ((d.n == 3 && strncmp(d.s, "-- ", 3) == 0) || (d.n == 2 && strncmp(d.s, "--", 2) == 0) ||
                (d.n == 3 && strncmp(d.s, "---", 3) == 0))
                cut = k - 1;
        }
    }
    return cut;
}

/* ---- disclaimers --------------------------------------------------- */

static bool disclaimer_start(struct line l)
{
    static const char *const starts[] = {
        "confidentiality notice",          "disclaimer:",
        "this e-mail and any attachments", "this email and any attachments",
        "this email and any files",        "this e-mail and any files",
        "this message and any attachments", "this e-mail message is confidential",
        "this email is confidential",      "the information contained in this e-mail",
        "the information contained in this email", "the information in this email is confidential",
        "please consider the environment before printing",
        "diese e-mail enthält vertrauliche", "diese nachricht enthält vertrauliche",
        "ce message et toutes les pièces jointes", "ce message et ses pièces jointes",
        "este mensaje y sus anexos",       "este mensaje es confidencial",
        "questo messaggio e i suoi allegati", "dit e-mailbericht is",
        "dit bericht is vertrouwelijk",    "esta mensagem e seus anexos",
        "detta e-postmeddelande",          "ta wiadomość jest poufna",
    };
    l = quote_line_trim(l);
    for (size_t k = 0; k < sizeof starts / sizeof *starts; k++)
        if (quote_mem_starts_with_ci(l.s, l.n, starts[k]))
            return true;
    return false;
}

/* What a disclaimer is about, in its own words: a sentence of the
 * customer's that starts like one ("The information contained in this
 * email is for the audit.") says none of it. */
static bool disclaimer_words(const struct line *lines, size_t from, size_t end)
{
    static const char *const words[] = {
        "confidential", "intended",   "privileged", "environment", "vertraulich", "confidentiel",
        "confidencial", "riservat",   "vertrouwelijk", "konfidentiell", "poufn",  "destinatari",
    };
    for (size_t k = from; k < end; k++)
        for (size_t i = 0; i < sizeof words / sizeof *words; i++)
            if (quote_mem_contains_ci(lines[k].s, lines[k].n, words[i]))
                return true;
    return false;
}

static size_t disclaimer(const struct line *lines, size_t end)
{
    size_t cut = end;
    for (size_t k = end; k-- > 0 && end - k <= MAX_FOOTER_LINES;)
        if (!quote_line_quoted(lines[k]) && disclaimer_start(lines[k]))
            cut = k;
    return cut < end && disclaimer_words(lines, cut, end) ? cut : end;
}

/* ---- corporate closings -------------------------------------------- */

static bool closing_line(struct line l)
{
    static const char *const closings[] = {
        "best regards",  "kind regards",   "regards",        "best wishes",   "best",
        "thanks and regards", "many thanks", "cheers",       "sincerely",     "yours sincerely",
        "mit freundlichen grüßen", "mit freundlichen grüssen", "viele grüße", "beste grüße",
        "freundliche grüße", "cordialement", "bien cordialement", "salutations",
        "saludos",       "un saludo",      "atentamente",    "saludos cordiales",
        "cordiali saluti", "distinti saluti", "saluti",      "met vriendelijke groet",
        "met vriendelijke groeten", "vriendelijke groet", "atenciosamente", "cumprimentos",
        "abraços",       "med vänliga hälsningar", "vänliga hälsningar", "hälsningar",
        "mvh",           "pozdrawiam",     "z poważaniem",   "с уважением",   "С уважением",
        "敬具",
        "よろしくお願いいたします", "よろしくお願いします", "此致敬礼", "此致", "谢谢",
    };
    l = quote_line_trim(l);
    while (l.n && (l.s[l.n - 1] == ',' || l.s[l.n - 1] == '!' || l.s[l.n - 1] == '.'))
        l.n--;
    for (size_t k = 0; k < sizeof closings / sizeof *closings; k++)
        if (l.n == strlen(closings[k]) && strncasecmp(l.s, closings[k], l.n) == 0)
            return true;
    return false;
}

/* A phone or fax number, a mail address, a web address, "Name | Title". */
static bool contact_detail(struct line l)
{
    size_t digits = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.s[i] >= '0' && l.s[i] <= '9')
            digits++;
    return digits >= 6 || memchr(l.s, '@', l.n) || quote_mem_contains_ci(l.s, l.n, "www.") ||
           quote_mem_contains_ci(l.s, l.n, "http") || quote_mem_contains_ci(l.s, l.n, " | ");
}

/* Five words or more ending in '.' or '!', not a "Dept | Company" line:
 * "My order number is 12345678." */
static bool sentence(struct line t)
{
    char c = t.s[t.n - 1];
    if ((c != '.' && c != '!') || memchr(t.s, '|', t.n))
        return false;
    size_t words = 0;
    for (size_t i = 0; i < t.n; i++)
        if (t.s[i] != ' ' && (i == 0 || t.s[i - 1] == ' '))
            words++;
    return words >= 5;
}

static size_t closing(const struct line *lines, size_t end)
{
    for (size_t k = end; k-- > 0 && end - k <= 12;) {
        if (!closing_line(lines[k]))
            continue;
        size_t body = 0;
        bool contact = false;
        for (size_t x = k + 1; x < end; x++) {
            if (quote_line_blank(lines[x]))
                continue;
            struct line t = at(lines, x);
            /* a question, a P.S. or a sentence is a message, not a
             * signature */
            if (quote_line_quoted(lines[x]) || t.n > 100 || t.s[t.n - 1] == '?' ||
                quote_mem_starts_with_ci(t.s, t.n, "p.s") || quote_mem_starts_with_ci(t.s, t.n, "ps:") ||
                quote_mem_starts_with_ci(t.s, t.n, "ps ") || sentence(t))
                return end;
            body++;
            contact = contact || contact_detail(t);
        }
        return contact && body >= 2 && body <= 10 ? k : end;
    }
    return end;
}

size_t quote_sig_trim(const struct line *lines, size_t end)
{
    size_t (*const kinds[])(const struct line *, size_t) = { footer, disclaimer, dashdash, phone,
                                                            closing };
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        size_t cut = kinds[i](lines, end);
        if (cut < end)
            return cut;
    }
    return end;
}

/* rt_fixture.h - the whole mail loop with real servers and the real
 * binary, for tests that drive conversations by mail: Dovecot (mail is
 * delivered over LMTP and fetched by `ticketd mailgw`), an SMTP sink that
 * `ticketd sender` (a second process) sends to, and the test process on
 * the same store (notify_fixture.h: its core plans notifications too,
 * so changes made here - a merge, an agent's comment - are mailed).
 * Header-only; every wait bounded by RT_WAIT_MS; the teardown stops every
 * server and process (which die with the test anyway: PR_SET_PDEATHSIG).
 *
 * rt_extra_config: lines appended to the config of the next setup. */
#ifndef TD_TEST_RT_FIXTURE_H
#define TD_TEST_RT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lmtp.h"
#include "mail_check.h"
#include "tests/core/notify_fixture.h"
#include "tests/support/harness.h"

#define RT_WAIT_MS 15000
#define RT_SUPPORT "support@example.com"

struct rt {
    struct nfx *f;
    struct harness_server dovecot, sink, mailgw, sender;
    char conf[400];
};

static const char *rt_extra_config = "";
/* Lines for the [notify] section of the next setup. */
static const char *rt_extra_notify = "";

static inline void rt_msleep(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static inline long long rt_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* BUILD/tests/notify/<test> -> BUILD/ticketd */
static inline const char *rt_ticketd_path(void)
{
    static char path[PATH_MAX + 16];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(path, sizeof path, "%s/ticketd", exe);
    return path;
}

static inline bool rt_start_role(struct rt *r, struct harness_server *s, const char *role)
{
    memset(s, 0, sizeof *s);
    if (!harness_tempdir(s->dir, sizeof s->dir))
        return false;
    const char *argv[] = { rt_ticketd_path(), "--config", r->conf, role, NULL };
    return harness_spawn(s, argv);
}

static inline int rt_setup(void **state)
{
    if (nfx_setup(state) != 0)
        return -1;
    struct rt *r = calloc(1, sizeof *r);
    r->f = *state;
    if (!harness_dovecot_start(&r->dovecot, "support", "secret") || !harness_smtp_start(&r->sink))
        return -1;
    snprintf(r->conf, sizeof r->conf, "%s/ticketd.conf", r->dovecot.dir);
    FILE *fp = fopen(r->conf, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp,
            "[store]\nuri = %s\n"
            "[core]\npassword_cost = min\n"
            "[log]\nlevel = debug\n"
            "[notify]\nsupport_address = " RT_SUPPORT "\nreply_secret = " NFX_SECRET "\n"
            "ticket_url = https://help.example.com/t/\n"
            "builtin_templates_dir = %s/../../templates\n"
            "poll_ms = 100\nretry_base_ms = 200\nreconcile_interval_ms = 0\n%s"
            "[smtp]\nurl = %s\nstarttls = no\nfrom = ACME Support <" RT_SUPPORT ">\n"
            "[mailgw]\nbackoff_min_ms = 100\nbackoff_max_ms = 500\n"
            "[mailbox support]\nhost = 127.0.0.1\nport = %d\ntls = none\nuser = support\n"
            "password = secret\naddress = " RT_SUPPORT "\nprocessed_folder =\nidle = yes\n"
            "poll_interval_ms = 300\n%s",
            r->f->sf->uri, harness_support_dir(), rt_extra_notify, r->sink.uri, r->dovecot.port,
            rt_extra_config);
    fclose(fp);
    if (!rt_start_role(r, &r->mailgw, "mailgw") || !rt_start_role(r, &r->sender, "sender"))
        return -1;
    *state = r;
    return 0;
}

static inline int rt_teardown(void **state)
{
    struct rt *r = *state;
    harness_stop(&r->mailgw);
    harness_stop(&r->sender);
    harness_stop(&r->sink);
    harness_stop(&r->dovecot);
    *state = r->f;
    free(r);
    rt_extra_config = "";
    rt_extra_notify = "";
    return nfx_teardown(state);
}

static inline void rt_deliver(struct rt *r, const char *from, const char *rcpt, const char *mail)
{
    char why[300] = "";
    if (!lmtp_deliver(r->dovecot.lmtp_port, from, rcpt, mail, why, sizeof why))
        fail_msg("LMTP delivery to %s: %s", rcpt, why);
}

/* Waits until the sink holds a mail to `to` whose subject contains subj;
 * takes it out of the sink and returns it parsed. */
static inline bool rt_wait_mail(struct rt *r, const char *to, const char *subj, struct mc_mail *out)
{
    long long deadline = rt_mono_ms() + RT_WAIT_MS;
    while (rt_mono_ms() < deadline) {
        struct mc_box box;
        mc_box_read(r->sink.maildir, &box);
        for (size_t i = 0; i < box.n; i++) {
            const char *rcpt = mc_raw(&box.v[i], "X-RcptTo");
            char *s = mc_header(&box.v[i], "Subject");
            bool hit = rcpt && strcasecmp(rcpt, to) == 0 && s && strstr(s, subj);
            free(s);
            if (hit) {
                mc_parse(out, box.v[i].data);
                remove(box.v[i].file);
                mc_box_free(&box);
                return true;
            }
        }
        mc_box_free(&box);
        rt_msleep(50);
    }
    harness_log_tail(&r->mailgw, 30);
    harness_log_tail(&r->sender, 30);
    return false;
}

/* The ticket's comments once there are at least n. */
static inline void rt_wait_comments(struct rt *r, int64_t ticket, size_t n,
                                    struct td_comment_list *out)
{
    long long deadline = rt_mono_ms() + RT_WAIT_MS;
    for (;;) {
        struct td_err err;
        memset(out, 0, sizeof *out);
        if (r->f->st->ops->comment_list(r->f->st, ticket, true, out, &err) && out->n >= n)
            return;
        comment_list_clear(out);
        if (rt_mono_ms() > deadline) {
            harness_log_tail(&r->mailgw, 40);
            fail_msg("ticket #%lld never got %zu comments", (long long)ticket, n);
        }
        rt_msleep(50);
    }
}

/* The number of tickets once there are at least n. */
static inline size_t rt_wait_tickets(struct rt *r, size_t n)
{
    long long deadline = rt_mono_ms() + RT_WAIT_MS;
    size_t have = 0;
    while (rt_mono_ms() < deadline) {
        struct td_ticket_list tl = { NULL, 0 };
        struct td_ticket_filter flt = { .limit = 100 };
        struct td_err err;
        if (r->f->st->ops->ticket_list(r->f->st, &flt, &tl, &err))
            have = tl.n;
        ticket_list_clear(&tl);
        if (have >= n)
            return have;
        rt_msleep(50);
    }
    harness_log_tail(&r->mailgw, 40);
    return have;
}

/* The address inside "Name <addr>". */
static inline void rt_addr_of(const char *value, char *out, size_t len)
{
    const char *lt = value ? strrchr(value, '<') : NULL, *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        snprintf(out, len, "%.*s", (int)(gt - lt - 1), lt + 1);
    else
        snprintf(out, len, "%s", value ? value : "");
}

/* A reply to m as Thunderbird writes it: to the Reply-To, "Re: " subject,
 * In-Reply-To and References, the answer above the quoted original.
 * The caller frees; rcpt gets the address it goes to. */
static inline char *rt_client_reply(const struct mc_mail *m, const char *from_name,
                                    const char *from_addr, const char *answer, const char *msgid,
                                    char *rcpt, size_t rcpt_len)
{
    rt_addr_of(mc_raw(m, "Reply-To"), rcpt, rcpt_len);
    char *subj = mc_header(m, "Subject");
    char *text = mc_text(m, "text/plain");
    const char *refs = mc_raw(m, "References");
    struct buf b = BUF_INIT;
    buf_printf(&b,
               "From: %s <%s>\n"
               "To: ACME Support <%s>\n"
               "Subject: Re: %s\n"
               "Date: Thu, 26 Nov 2026 09:15:00 +0100\n"
               "Message-ID: %s\n"
               "In-Reply-To: %s\n"
               "References: %s %s\n"
               "User-Agent: Mozilla/5.0 Thunderbird/115.5.0\n"
               "MIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=UTF-8; format=flowed\n"
               "Content-Transfer-Encoding: 8bit\n"
               "\n"
               "%s\n"
               "\n"
               "On 25.11.26 23:59, ACME Support wrote:\n",
               from_name, from_addr, rcpt, subj, msgid, mc_raw(m, "Message-ID"),
               refs ? refs : "", mc_raw(m, "Message-ID"), answer);
    for (const char *p = text ? text : ""; *p;) {
        size_t n = strcspn(p, "\n");
        buf_printf(&b, "> %.*s\n", (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
    free(subj);
    free(text);
    return buf_steal(&b);
}

/* tests/data/mail/<name> with every {KEY} of vars (NULL-terminated
 * key, value pairs) replaced. The caller frees. */
static inline char *rt_mail_file(const char *name, const char *const *vars)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/../data/mail/%s", harness_support_dir(), name);
    char *text = mc_read_file(path);
    if (text == NULL)
        fail_msg("cannot read %s", path);
    for (size_t i = 0; vars && vars[i]; i += 2) {
        char key[64];
        snprintf(key, sizeof key, "{%s}", vars[i]);
        struct buf b = BUF_INIT;
        const char *p = text;
        const char *hit;
        while ((hit = strstr(p, key)) != NULL) {
            buf_append(&b, p, (size_t)(hit - p));
            buf_puts(&b, vars[i + 1]);
            p = hit + strlen(key);
        }
        buf_puts(&b, p);
        free(text);
        text = buf_steal(&b);
    }
    return text;
}

#endif

/* harness_mail.c - the mail servers: an SMTP sink (aiosmtpd) and Dovecot
 * (IMAP + LMTP).
 *
 * Both run from Debian packages, each with all its state in its own temp
 * dir. Dovecot runs in the foreground (-F) so the pid the harness holds is
 * the master itself, and with its own base_dir so parallel test binaries
 * can each have one. */
#include "tests/support/harness_internal.h"

#include "core/buf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"     /* Debian's, which has aiosmtpd */
#define DOVECOT "/usr/sbin/dovecot"
#define TEMPLATE_MAX (64 * 1024)

static bool make_dir(const char *parent, const char *name, mode_t mode)
{
    char path[400];
    if (!harness_fmt(path, sizeof path, "%s/%s", parent, name)) {
        fprintf(stderr, "harness: path too long: %s/%s\n", parent, name);
        return false;
    }
    /* chmod too: mkdir's mode is cut by the umask. */
    if ((mkdir(path, mode) != 0 && errno != EEXIST) || chmod(path, mode) != 0) {
        fprintf(stderr, "harness: mkdir %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

static bool write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    bool ok = fd >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        off += ok ? (size_t)n : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    /* chmod too: open's mode is cut by the umask. */
    if (!ok || chmod(path, mode) != 0) {
        fprintf(stderr, "harness: writing %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

static const char *lookup(const char *const vars[], const char *key, size_t klen)
{
    for (size_t i = 0; vars[i] && vars[i + 1]; i += 2)
        if (strlen(vars[i]) == klen && memcmp(vars[i], key, klen) == 0)
            return vars[i + 1];
    return NULL;
}

/* Copies template `in` to `out`, replacing each @KEY@ (KEY in [A-Z_]) by
 * its value from vars = { "KEY", "value", ..., NULL }. An unknown @KEY@ is
 * an error, so a typo in the template cannot go unnoticed. */
static bool render(const char *in, const char *out, const char *const vars[])
{
    char *text = malloc(TEMPLATE_MAX);
    int fd = open(in, O_RDONLY | O_CLOEXEC);
    ssize_t n = (fd >= 0 && text) ? read(fd, text, TEMPLATE_MAX - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0 || n >= TEMPLATE_MAX - 1) {
        fprintf(stderr, "harness: reading template %s: %s\n", in,
                n < 0 ? strerror(errno) : "too large");
        free(text);
        return false;
    }
    text[n] = '\0';

    struct buf b = BUF_INIT;
    bool ok = true;
    for (const char *p = text; *p;) {
        const char *at = strchr(p, '@');
        if (!at) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(at - p));
        size_t k = 1;
        while (isupper((unsigned char)at[k]) || at[k] == '_')
            k++;
        if (k == 1 || at[k] != '@') {   /* a plain '@' (postmaster@...) */
            buf_putc(&b, '@');
            p = at + 1;
            continue;
        }
        const char *val = lookup(vars, at + 1, k - 1);
        if (!val) {
            fprintf(stderr, "harness: %s: unknown placeholder %.*s\n", in, (int)k + 1, at);
            ok = false;
            break;
        }
        buf_puts(&b, val);
        p = at + k + 1;
    }
    ok = ok && write_file(out, b.data ? b.data : "", b.len, 0644);
    buf_free(&b);
    free(text);
    return ok;
}

/* ---- SMTP sink ---- */

static bool smtp_try(struct harness_server *s, const void *arg)
{
    char listen[64];
    (void)arg;
    s->port = harness_free_port();
    if (s->port <= 0 || !harness_fmt(listen, sizeof listen, "127.0.0.1:%d", s->port))
        return false;
    const char *argv[] = { PYTHON, "-u", "-m", "aiosmtpd",
                           "-n",   /* stay who we are; as root it would setuid(nobody) */
                           "-l", listen, "-c", "aiosmtpd.handlers.Mailbox", s->maildir, NULL };
    if (!harness_spawn(s, argv))
        return false;
    return harness_wait_ready(s, s->port, harness_probe_banner, "220", HARNESS_START_TIMEOUT_MS);
}

bool harness_smtp_start(struct harness_server *s)
{
    memset(s, 0, sizeof *s);
    if (!harness_tempdir(s->dir, sizeof s->dir))
        return false;
    if (!harness_fmt(s->maildir, sizeof s->maildir, "%s/maildir", s->dir) ||
        !make_dir(s->dir, "maildir", 0755) || !make_dir(s->maildir, "cur", 0755) ||
        !make_dir(s->maildir, "new", 0755) || !make_dir(s->maildir, "tmp", 0755) ||
        !harness_start_with_retries(s, "SMTP sink (aiosmtpd)", smtp_try, NULL) ||
        !harness_fmt(s->uri, sizeof s->uri, "smtp://127.0.0.1:%d", s->port)) {
        harness_stop(s);
        return false;
    }
    return true;
}

/* ---- Dovecot ---- */

static bool dovecot_try(struct harness_server *s, const void *arg)
{
    const char *const *ids = arg;   /* LOGIN_USER INTERNAL_USER INTERNAL_GROUP MAIL_UID MAIL_GID */
    char conf[320], tmpl[1100], imap[16], lmtp[16], instance[64];

    s->port = harness_free_port();
    do
        s->lmtp_port = harness_free_port();
    while (s->lmtp_port == s->port);
    if (s->port <= 0 || s->lmtp_port <= 0)
        return false;
    snprintf(imap, sizeof imap, "%d", s->port);
    snprintf(lmtp, sizeof lmtp, "%d", s->lmtp_port);
    /* Unique per run: the temp dir's random suffix. */
    const char *base = strrchr(s->dir, '/');
    snprintf(instance, sizeof instance, "%s", base ? base + 1 : "ticketd-test");
    const char *vars[] = { "DIR", s->dir, "INSTANCE", instance, "IMAP_PORT", imap,
                           "LMTP_PORT", lmtp, "LOGIN_USER", ids[0], "INTERNAL_USER", ids[1],
                           "INTERNAL_GROUP", ids[2], "MAIL_UID", ids[3], "MAIL_GID", ids[4],
                           NULL };
    if (!harness_fmt(conf, sizeof conf, "%s/dovecot.conf", s->dir) ||
        !harness_fmt(tmpl, sizeof tmpl, "%s/dovecot.conf.in", harness_support_dir()) ||
        !render(tmpl, conf, vars))
        return false;
    const char *argv[] = { DOVECOT, "-F", "-c", conf, NULL };
    return harness_spawn(s, argv) &&
           harness_wait_ready(s, s->port, harness_probe_banner, "* OK", HARNESS_START_TIMEOUT_MS) &&
           harness_wait_ready(s, s->lmtp_port, harness_probe_banner, "220",
                              HARNESS_START_TIMEOUT_MS);
}

static bool valid_credential(const char *v, bool is_user)
{
    if (!v || !*v || strlen(v) > 64)
        return false;
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (is_user ? !(isalnum(c) || strchr("._-+", c)) : !(isgraph(c) && c != ':'))
            return false;
    }
    return true;
}

/* Who Dovecot's processes run as; see dovecot.conf.in. */
static bool dovecot_ids(char ids[5][64], uid_t *mail_uid, gid_t *mail_gid)
{
    if (geteuid() == 0) {
        struct passwd *nobody = getpwnam("nobody");
        *mail_uid = nobody ? nobody->pw_uid : 65534;
        *mail_gid = nobody ? nobody->pw_gid : 65534;
        snprintf(ids[0], 64, "dovenull");
        snprintf(ids[1], 64, "dovecot");
        snprintf(ids[2], 64, "dovecot");
    } else {
        struct passwd *me = getpwuid(geteuid());
        struct group *grp = getgrgid(getegid());
        if (!me || !grp) {
            fprintf(stderr, "harness: cannot name uid %d / gid %d\n", (int)geteuid(),
                    (int)getegid());
            return false;
        }
        *mail_uid = geteuid();
        *mail_gid = getegid();
        snprintf(ids[0], 64, "%s", me->pw_name);
        snprintf(ids[1], 64, "%s", me->pw_name);
        snprintf(ids[2], 64, "%s", grp->gr_name);
    }
    snprintf(ids[3], 64, "%d", (int)*mail_uid);
    snprintf(ids[4], 64, "%d", (int)*mail_gid);
    return true;
}

bool harness_dovecot_start(struct harness_server *s, const char *user, const char *password)
{
    char ids[5][64], path[400], line[200];
    uid_t mail_uid;
    gid_t mail_gid;

    memset(s, 0, sizeof *s);
    if (!valid_credential(user, true) || !valid_credential(password, false)) {
        fprintf(stderr, "harness: dovecot user/password must be 1-64 characters, "
                        "user [A-Za-z0-9._+-], password printable without ':'\n");
        return false;
    }
    if (!dovecot_ids(ids, &mail_uid, &mail_gid) || !harness_tempdir(s->dir, sizeof s->dir))
        return false;
    const char *idv[] = { ids[0], ids[1], ids[2], ids[3], ids[4] };
    bool ok = chmod(s->dir, 0755) == 0 && make_dir(s->dir, "dovecot", 0755) &&
              make_dir(s->dir, "dovecot/base", 0755) && make_dir(s->dir, "dovecot/state", 0755) &&
              make_dir(s->dir, "mail", 0755) && make_dir(s->dir, "home", 0755);
    /* Mail is delivered and read as mail_uid (nobody when we are root). */
    for (int i = 0; ok && i < 2; i++) {
        ok = harness_fmt(path, sizeof path, "%s/%s", s->dir, i ? "home" : "mail") &&
             chown(path, mail_uid, mail_gid) == 0;
        if (!ok)
            fprintf(stderr, "harness: chown %s: %s\n", path, strerror(errno));
    }
    ok = ok && harness_fmt(path, sizeof path, "%s/dovecot/users", s->dir) &&
         harness_fmt(line, sizeof line, "%s:{PLAIN}%s::::::\n", user, password) &&
         write_file(path, line, strlen(line), 0644) &&
         harness_start_with_retries(s, "Dovecot", dovecot_try, idv) &&
         harness_fmt(s->uri, sizeof s->uri, "imap://127.0.0.1:%d", s->port);
    if (!ok) {
        harness_stop(s);
        return false;
    }
    return true;
}

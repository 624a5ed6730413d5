/* lease_owner.c - see lease_owner.h. */
#include "lease_owner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/id.h"

struct who {
    char host[64];
    long pid;
    char boot[16];
    char ns[24];
};

/* First 12 hex digits of the boot id, "" when unreadable. */
static void boot_id(char out[16])
{
    out[0] = '\0';
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f == NULL)
        return;
    char line[64];
    size_t n = 0;
    if (fgets(line, sizeof line, f) != NULL)
        for (const char *c = line; *c && n < 12; c++)
            if ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))
                out[n++] = *c;
    out[n] = '\0';
    fclose(f);
}

/* The pid namespace's inode ("4026531836"), "" when unreadable. */
static void pid_ns(char out[24])
{
    out[0] = '\0';
    char link[64];
    ssize_t n = readlink("/proc/self/ns/pid", link, sizeof link - 1);
    if (n <= 0)
        return;
    link[n] = '\0';
    const char *lb = strchr(link, '['), *rb = strchr(link, ']');
    if (lb && rb && rb > lb + 1 && (size_t)(rb - lb - 1) < 24) {
        memcpy(out, lb + 1, (size_t)(rb - lb - 1));
        out[rb - lb - 1] = '\0';
    }
}

static void me(struct who *w)
{
    memset(w, 0, sizeof *w);
    if (gethostname(w->host, sizeof w->host - 1) != 0)
        snprintf(w->host, sizeof w->host, "host");
    for (char *c = w->host; *c; c++)
        if (*c == ':')
            *c = '_'; /* the separator */
    w->pid = (long)getpid();
    boot_id(w->boot);
    pid_ns(w->ns);
}

void lease_owner_make(char *out, size_t n)
{
    struct who w;
    me(&w);
    char rnd[TD_ID_LEN + 1];
    id_new(rnd);
    snprintf(out, n, "%.40s:%ld:%s:%s:%.8s", w.host, w.pid, w.boot, w.ns, rnd);
}

/* "host:pid:boot:ns:rnd" into w; false for any other shape. */
static bool parse(const char *s, struct who *w)
{
    memset(w, 0, sizeof *w);
    const char *f[5];
    size_t len[5];
    const char *p = s;
    for (int i = 0; i < 5; i++) {
        const char *c = strchr(p, ':');
        if ((c == NULL) != (i == 4))
            return false;
        f[i] = p;
        len[i] = c ? (size_t)(c - p) : strlen(p);
        p = c ? c + 1 : p;
    }
    if (len[0] == 0 || len[0] >= sizeof w->host || len[2] == 0 || len[2] >= sizeof w->boot ||
        len[3] == 0 || len[3] >= sizeof w->ns || len[1] == 0 || len[1] > 10)
        return false;
    memcpy(w->host, f[0], len[0]);
    memcpy(w->boot, f[2], len[2]);
    memcpy(w->ns, f[3], len[3]);
    long pid = 0;
    for (size_t i = 0; i < len[1]; i++) {
        if (f[1][i] < '0' || f[1][i] > '9')
            return false;
        pid = pid * 10 + (f[1][i] - '0');
    }
    w->pid = pid;
    return pid > 1;
}

bool lease_owner_gone(const char *holder)
{
    struct who h, m;
    if (holder == NULL || !parse(holder, &h))
        return false;
    me(&m);
    if (m.boot[0] == '\0' || m.ns[0] == '\0')
        return false; /* no /proc: nothing can be proved */
    if (strcmp(h.host, m.host) != 0 || strcmp(h.boot, m.boot) != 0 || strcmp(h.ns, m.ns) != 0 ||
        h.pid == m.pid)
        return false;
    return kill((pid_t)h.pid, 0) == -1 && errno == ESRCH;
}

/* config.c - see config.h. */
#include "config.h"
#include "buf.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* environ */

#define MAX_CONFIG_BYTES (1024 * 1024)
#define MAX_SECRET_BYTES (64 * 1024)

struct entry {
    char *section;
    char *key;
    char *value;
    int line;
    bool read;
};

struct asked {
    char *section;
    char *key;
};

struct td_config {
    struct entry *v;
    size_t n;
    struct asked *asked;     /* config_each_asked */
    size_t n_asked;
    pthread_mutex_t asked_lock; /* modules may read keys from their threads */
    char *origin;            /* file name for messages */
    struct td_err deferred;  /* first *_file a config_str() could not read */
    char **owned;            /* values read from *_file or env, freed at the end */
    size_t n_owned;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static struct entry *find(struct td_config *cfg, const char *section, const char *key)
{
    for (size_t i = cfg->n; i-- > 0;) /* last one wins */
        if (strcmp(cfg->v[i].section, section) == 0 && strcmp(cfg->v[i].key, key) == 0)
            return &cfg->v[i];
    return NULL;
}

static void add(struct td_config *cfg, const char *section, const char *key, const char *value,
                int line)
{
    cfg->v = td_realloc(cfg->v, (cfg->n + 1) * sizeof *cfg->v);
    cfg->v[cfg->n++] = (struct entry){ td_strdup(section), td_strdup(key), td_strdup(value), line,
                                       false };
}

static bool parse(struct td_config *cfg, char *text, struct td_err *err)
{
    char section[128] = "";
    int lineno = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (end == NULL || end[1] != '\0' || end - s - 1 <= 0 ||
                (size_t)(end - s - 1) >= sizeof section)
                return td_fail(err, TD_INVALID, "%s:%d: malformed section header", cfg->origin, lineno);
            *end = '\0';
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL)
            return td_fail(err, TD_INVALID, "%s:%d: expected 'key = value'", cfg->origin, lineno);
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (*key == '\0')
            return td_fail(err, TD_INVALID, "%s:%d: empty key", cfg->origin, lineno);
        if (section[0] == '\0')
            return td_fail(err, TD_INVALID, "%s:%d: key '%s' is outside any [section]", cfg->origin,
                           lineno, key);
        /* Inline comments need white space before them: "a#b" is a value. */
        for (char *p = value; *p; p++)
            if ((*p == '#' || *p == ';') && p > value && isspace((unsigned char)p[-1])) {
                *p = '\0';
                value = trim(value);
                break;
            }
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        /* Which of two lines wins is a guess the reader of the file
         * should not have to make. */
        const struct entry *dup = find(cfg, section, key);
        if (dup)
            return td_fail(err, TD_INVALID, "%s:%d: duplicate key [%s] %s (first set on line %d)",
                           cfg->origin, lineno, section, key, dup->line);
        add(cfg, section, key, value, lineno);
    }
    return true;
}

/* "foo" and "foo_file" in one section: two values for one key. */
static bool check_file_pairs(struct td_config *cfg, struct td_err *err)
{
    for (size_t i = 0; i < cfg->n; i++) {
        const struct entry *fe = &cfg->v[i];
        size_t kl = strlen(fe->key);
        if (kl <= 5 || strcmp(fe->key + kl - 5, "_file") != 0)
            continue;
        for (size_t j = 0; j < cfg->n; j++) {
            const struct entry *e = &cfg->v[j];
            if (strcmp(e->section, fe->section) == 0 && strlen(e->key) == kl - 5 &&
                strncmp(e->key, fe->key, kl - 5) == 0)
                return td_fail(err, TD_INVALID,
                               "%s:%d: [%s] %s and %s (line %d) are both set; keep one",
                               cfg->origin, fe->line, fe->section, e->key, fe->key, e->line);
        }
    }
    return true;
}

/* TICKETD_X and TICKETD_X_FILE both in the environment: the same. */
static bool check_env_pairs(struct td_err *err)
{
    for (char **ev = environ; *ev; ev++) {
        size_t len = strcspn(*ev, "=");
        if (strncmp(*ev, "TICKETD_", 8) != 0 || len <= 13 || (*ev)[len] != '=' ||
            strncmp(*ev + len - 5, "_FILE", 5) != 0)
            continue;
        char base[256];
        int n = snprintf(base, sizeof base, "%.*s", (int)(len - 5), *ev);
        if (n > 0 && (size_t)n < sizeof base && getenv(base) != NULL)
            return td_fail(err, TD_INVALID, "%s and %s_FILE are both set in the environment; keep one",
                           base, base);
    }
    return true;
}

static bool config_from_text(char *text, const char *origin, struct td_config **out,
                             struct td_err *err)
{
    struct td_config *cfg = td_calloc(1, sizeof *cfg);
    pthread_mutex_init(&cfg->asked_lock, NULL);
    cfg->origin = td_strdup(origin);
    if (!parse(cfg, text, err) || !check_file_pairs(cfg, err) || !check_env_pairs(err)) {
        config_free(cfg);
        return false;
    }
    *out = cfg;
    return true;
}

static bool read_file(const char *path, size_t max, char **out, struct td_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return td_fail(err, TD_INVALID, "cannot open %s: %s", path, strerror(errno));
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max) {
            fclose(f);
            buf_free(&b);
            return td_fail(err, TD_INVALID, "%s is larger than %zu bytes", path, max);
        }
        buf_append(&b, chunk, n);
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        buf_free(&b);
        return td_fail(err, TD_INVALID, "cannot read %s", path);
    }
    *out = buf_steal(&b);
    return true;
}

bool config_load(const char *path, struct td_config **out, struct td_err *err)
{
    if (path == NULL) {
        char empty[] = "";
        return config_from_text(empty, "(environment)", out, err);
    }
    char *text = NULL;
    if (!read_file(path, MAX_CONFIG_BYTES, &text, err))
        return false;
    bool ok = config_from_text(text, path, out, err);
    free(text);
    return ok;
}

bool config_load_string(const char *text, struct td_config **out, struct td_err *err)
{
    char *copy = td_strdup(text);
    bool ok = config_from_text(copy, "(string)", out, err);
    free(copy);
    return ok;
}

void config_free(struct td_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->v[i].section);
        free(cfg->v[i].key);
        free(cfg->v[i].value);
    }
    free(cfg->v);
    for (size_t i = 0; i < cfg->n_asked; i++) {
        free(cfg->asked[i].section);
        free(cfg->asked[i].key);
    }
    free(cfg->asked);
    pthread_mutex_destroy(&cfg->asked_lock);
    for (size_t i = 0; i < cfg->n_owned; i++)
        free(cfg->owned[i]);
    free(cfg->owned);
    free(cfg->origin);
    free(cfg);
}

static const char *keep(struct td_config *cfg, char *value)
{
    cfg->owned = td_realloc(cfg->owned, (cfg->n_owned + 1) * sizeof *cfg->owned);
    cfg->owned[cfg->n_owned++] = value;
    return value;
}

static bool env_name(const char *section, const char *key, char *name, size_t len);

static const char *env_value(const char *section, const char *key)
{
    char name[256];
    return env_name(section, key, name, sizeof name) ? getenv(name) : NULL;
}

static void remember_asked(struct td_config *cfg, const char *section, const char *key)
{
    pthread_mutex_lock(&cfg->asked_lock);
    bool known = false;
    for (size_t i = 0; i < cfg->n_asked && !known; i++)
        known = strcmp(cfg->asked[i].section, section) == 0 && strcmp(cfg->asked[i].key, key) == 0;
    if (!known) {
        cfg->asked = td_realloc(cfg->asked, (cfg->n_asked + 1) * sizeof *cfg->asked);
        cfg->asked[cfg->n_asked++] = (struct asked){ td_strdup(section), td_strdup(key) };
    }
    pthread_mutex_unlock(&cfg->asked_lock);
}

void config_each_asked(struct td_config *cfg,
                       void (*fn)(void *arg, const char *section, const char *key), void *arg)
{
    pthread_mutex_lock(&cfg->asked_lock); /* fn must not read the config */
    for (size_t i = 0; i < cfg->n_asked; i++)
        fn(arg, cfg->asked[i].section, cfg->asked[i].key);
    pthread_mutex_unlock(&cfg->asked_lock);
}

/* The raw value of section.key from env, file, or key_file; NULL if unset.
 * A *_file that cannot be read is reported through *err_out. */
static const char *lookup(struct td_config *cfg, const char *section, const char *key,
                          struct td_err *err, bool *failed)
{
    *failed = false;
    remember_asked(cfg, section, key);
    struct entry *e = find(cfg, section, key);
    if (e)
        e->read = true;
    char file_key[160];
    int n = snprintf(file_key, sizeof file_key, "%s_file", key);
    struct entry *fe = n > 0 && (size_t)n < sizeof file_key ? find(cfg, section, file_key) : NULL;
    if (fe) /* also when the environment overrides it: key_file is known */
        fe->read = true;
    const char *env = env_value(section, key);
    if (env)
        return env;
    const char *path = NULL;
    if (n > 0 && (size_t)n < sizeof file_key) {
        path = env_value(section, file_key);
        if (path == NULL && fe)
            path = fe->value;
    }
    if (e && (path == NULL || path[0] == '\0'))
        return e->value;
    if (path == NULL || path[0] == '\0')
        return NULL;
    char *content = NULL;
    struct td_err rerr;
    td_err_clear(&rerr);
    if (!read_file(path, MAX_SECRET_BYTES, &content, &rerr)) {
        /* The key, not only the path: "which setting points there?" */
        *failed = true;
        td_fail(err, TD_INVALID, "[%s] %s: %s", section, file_key, rerr.msg);
        if (err == NULL) { /* config_str(): reported by config_check_unread() */
            pthread_mutex_lock(&cfg->asked_lock);
            if (cfg->deferred.code == TD_OK)
                td_fail(&cfg->deferred, TD_INVALID, "[%s] %s: %s", section, file_key, rerr.msg);
            pthread_mutex_unlock(&cfg->asked_lock);
        }
        return NULL;
    }
    size_t len = strlen(content);
    while (len > 0 && (content[len - 1] == '\n' || content[len - 1] == '\r'))
        content[--len] = '\0';
    return keep(cfg, content);
}

const char *config_str(struct td_config *cfg, const char *section, const char *key,
                       const char *def)
{
    bool failed;
    const char *v = lookup(cfg, section, key, NULL, &failed);
    return v ? v : def;
}

bool config_require(struct td_config *cfg, const char *section, const char *key,
                    const char **out, struct td_err *err)
{
    bool failed;
    const char *v = lookup(cfg, section, key, err, &failed);
    if (failed)
        return false;
    if (v == NULL || v[0] == '\0')
        return td_fail(err, TD_INVALID, "[%s] %s is required", section, key);
    *out = v;
    return true;
}

bool config_int(struct td_config *cfg, const char *section, const char *key, int64_t def,
                int64_t min, int64_t max, int64_t *out, struct td_err *err)
{
    bool failed;
    const char *v = lookup(cfg, section, key, err, &failed);
    if (failed)
        return false;
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return true;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0')
        return td_fail(err, TD_INVALID, "[%s] %s: '%.40s' is not a whole number", section, key, v);
    if (n < min || n > max)
        return td_fail(err, TD_INVALID, "[%s] %s: %lld is outside %lld..%lld", section, key, n,
                       (long long)min, (long long)max);
    *out = n;
    return true;
}

bool config_bool(struct td_config *cfg, const char *section, const char *key, bool def,
                 bool *out, struct td_err *err)
{
    bool failed;
    const char *v = lookup(cfg, section, key, err, &failed);
    if (failed)
        return false;
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return true;
    }
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *out = true;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
        *out = false;
    else
        return td_fail(err, TD_INVALID, "[%s] %s: '%.40s' is not yes or no", section, key, v);
    return true;
}

bool config_each_section(struct td_config *cfg, const char *prefix,
                         bool (*fn)(struct td_config *cfg, const char *section,
                                    const char *name, void *arg, struct td_err *err),
                         void *arg, struct td_err *err)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < cfg->n; i++) {
        const char *s = cfg->v[i].section;
        if (strncmp(s, prefix, plen) != 0)
            continue;
        bool seen = false; /* visit each section once, at its first key */
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(cfg->v[j].section, s) == 0;
        if (seen)
            continue;
        char *section = td_strdup(s); /* fn may read keys: keep our own copy */
        bool ok = fn(cfg, section, section + plen, arg, err);
        free(section);
        if (!ok)
            return false;
    }
    return true;
}

/* The environment variable for section.key ("mailbox support", "user"
 * -> TICKETD_MAILBOX_SUPPORT_USER); false if it does not fit. */
static bool env_name(const char *section, const char *key, char *name, size_t len)
{
    int n = snprintf(name, len, "TICKETD_%s_%s", section, key);
    if (n < 0 || (size_t)n >= len)
        return false;
    for (char *p = name; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    return true;
}

/* Names that are not keys: the config file's path, and what the test
 * suite keeps for itself (its settings, the MongoDB mock's debug switch,
 * which reaches a ticketd the tests start through the environment). */
static bool env_reserved(const char *name, size_t len)
{
    return (len == 14 && strncmp(name, "TICKETD_CONFIG", 14) == 0) ||
           (len == 14 && strncmp(name, "TICKETD_SRCDIR", 14) == 0) ||
           strncmp(name, "TICKETD_TEST_", 13) == 0 || strncmp(name, "TICKETD_MONGO_MOCK_", 19) == 0;
}

static bool env_known(struct td_config *cfg, const char *name, size_t len)
{
    bool known = env_reserved(name, len);
    pthread_mutex_lock(&cfg->asked_lock);
    for (size_t i = 0; i < cfg->n_asked && !known; i++) {
        char want[300];
        if (!env_name(cfg->asked[i].section, cfg->asked[i].key, want, sizeof want))
            continue;
        size_t wl = strlen(want);
        known = (len == wl && strncmp(name, want, len) == 0) ||
                (len == wl + 5 && strncmp(name, want, wl) == 0 && strncmp(name + wl, "_FILE", 5) == 0);
    }
    pthread_mutex_unlock(&cfg->asked_lock);
    return known;
}

bool config_check_unread(struct td_config *cfg, struct td_err *err)
{
    if (cfg->deferred.code != TD_OK)
        return td_fail(err, cfg->deferred.code, "%s", cfg->deferred.msg);
    for (size_t i = 0; i < cfg->n; i++)
        if (!cfg->v[i].read)
            return td_fail(err, TD_INVALID, "%s:%d: unknown key [%s] %s", cfg->origin, cfg->v[i].line,
                           cfg->v[i].section, cfg->v[i].key);
    /* A misspelt TICKETD_API_PROT is as wrong as "prot = " in the file. */
    for (char **ev = environ; *ev; ev++) {
        size_t len = strcspn(*ev, "=");
        if (strncmp(*ev, "TICKETD_", 8) == 0 && !env_known(cfg, *ev, len))
            return td_fail(err, TD_INVALID, "unknown environment variable %.*s (no such key)",
                           (int)len, *ev);
    }
    return true;
}

/* test_fuzz.c - the two fuzz targets (fuzz_mail.c: MIME and the mail
 * rules; fuzz_request.c: the API's request parsers) for a bounded time
 * inside `make check`, as an ordinary test (it counts in tests/run.sh's
 * summary, and runs under ASan/UBSan in the sanitizer build).
 *
 * A deterministic mutation driver, not libFuzzer: `make check` builds
 * with gcc and must not depend on clang (tests/fuzz/run.sh does the
 * coverage-guided run with clang's libFuzzer for longer sessions). Seeds:
 * every tests/data/mail/ *.eml file - fixtures added later are picked up by
 * themselves - every file in tests/fuzz/regressions/, and a few request
 * shapes. Each round takes a seed, stacks 1-8 mutations (bit flips,
 * deletions, duplications, splices with another seed, tokens the parsers
 * care about) and runs the target; the sequence is fixed by the seed of
 * the PRNG, the time only decides how far it gets:
 *
 *   TICKETD_FUZZ_SECONDS   per target (default 30)
 *   TICKETD_FUZZ_SEED      PRNG seed (default fixed)
 *
 * On a crash the input is written to $TMPDIR/ticketd-fuzz-crash-<target>
 * (add it to tests/fuzz/regressions/ with the fix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/core.h"
#include "tests/support/harness.h"

/* Both targets define LLVMFuzzerTestOneInput: rename them here. */
#define LLVMFuzzerTestOneInput fuzz_mail_one
#include "tests/fuzz/fuzz_mail.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_request_one
#include "tests/fuzz/fuzz_request.c"
#undef LLVMFuzzerTestOneInput

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

#define FUZZ_MAX_INPUT (64 * 1024)

struct seeds {
    struct buf *v;
    size_t n;
};

static void seeds_add(struct seeds *s, const char *data, size_t len)
{
    s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
    if (s->v == NULL)
        abort();
    struct buf b = BUF_INIT;
    buf_append(&b, data, len > FUZZ_MAX_INPUT ? FUZZ_MAX_INPUT : len);
    s->v[s->n++] = b;
}

static void seeds_add_dir(struct seeds *s, const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.' || nl < sl || strcmp(e->d_name + nl - sl, suffix) != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        struct buf b = BUF_INIT;
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < FUZZ_MAX_INPUT)
            buf_append(&b, chunk, n);
        fclose(f);
        seeds_add(s, b.data ? b.data : "", b.len);
        buf_free(&b);
    }
    closedir(d);
}

static void seeds_free(struct seeds *s)
{
    for (size_t i = 0; i < s->n; i++)
        buf_free(&s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* The seed corpus: the mail fixtures and regressions for every target. */
static size_t load_corpus(struct seeds *s)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/../data/mail", harness_support_dir());
    seeds_add_dir(s, dir, ".eml");
    size_t mails = s->n;
    snprintf(dir, sizeof dir, "%s/../fuzz/regressions", harness_support_dir());
    seeds_add_dir(s, dir, "");
    return mails;
}

/* ---- crash capture --------------------------------------------------------- */

static const unsigned char *cur_data;
static size_t cur_len;
static char crash_path[512];

static void dump_input(void)
{
    if (cur_data == NULL)
        return; /* not inside a target: nothing to keep */
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < cur_len) {
        ssize_t w = write(fd, cur_data + off, cur_len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    static const char msg[] = "fuzz: the crashing input is in ";
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, crash_path, strlen(crash_path));
    (void)!write(2, "\n", 1);
}

#ifndef __SANITIZE_ADDRESS__
static void on_crash(int sig)
{
    dump_input();
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

static void crash_capture(const char *target)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(crash_path, sizeof crash_path, "%s/ticketd-fuzz-crash-%s", tmp && *tmp ? tmp : "/tmp",
             target);
#ifdef __SANITIZE_ADDRESS__
    __sanitizer_set_death_callback(dump_input);
#else
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGFPE, on_crash);
#endif
}

/* ---- mutation ---------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static const char *const tokens[] = {
    "\r\n", "\r\n\r\n", "\n", "--", "--XyZ", "--XyZ--", "=?", "?=", "=?utf-8?b?", "=?iso-8859-1?q?",
    "Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n", "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n", "charset=", "boundary=", "name=", "filename*=",
    "=\r\n", "=3D", "=FF", "<", ">", "<html>", "<br>", "&amp;", "&#x", "\"", "\\", "{", "}", "[", "]",
    ":", ",", "null", "true", "-0", "1e999", "\\u0000", "\\ud800", "\xff", "\xc3", "\xe2\x9c",
    "\0", "Content-Length: ", "Transfer-Encoding: chunked", " : ", "[#", "Re: ", "> ",
    "Authentication-Results: mx.example.com; dmarc=pass", "support+", "@", "%",
};

static void mutate(struct buf *b, const struct seeds *s)
{
    int ops = 1 + (int)(rnd() % 8);
    for (int k = 0; k < ops; k++) {
        size_t len = b->len, pos = len ? rnd() % len : 0;
        switch (rnd() % 8) {
        case 0: /* flip a bit */
            if (len)
                b->data[pos] ^= (char)(1u << (rnd() % 8));
            break;
        case 1: /* a random byte */
            if (len)
                b->data[pos] = (char)rnd();
            break;
        case 2: { /* delete a span */
            size_t n = 1 + rnd() % (len / 8 + 2);
            if (pos + n > len)
                n = len - pos;
            memmove(b->data + pos, b->data + pos + n, len - pos - n);
            b->len -= n;
            break;
        }
        case 3: { /* duplicate a span */
            size_t n = 1 + rnd() % 64;
            if (pos + n > len)
                n = len - pos;
            if (n && len + n <= FUZZ_MAX_INPUT) {
                struct buf t = BUF_INIT;
                buf_append(&t, b->data, pos + n);
                buf_append(&t, b->data + pos, len - pos);
                buf_free(b);
                *b = t;
            }
            break;
        }
        case 4: /* truncate */
            b->len = pos;
            break;
        case 5: { /* splice: the head of this, the tail of another seed */
            const struct buf *o = &s->v[rnd() % s->n];
            size_t from = o->len ? rnd() % o->len : 0;
            if (pos + (o->len - from) <= FUZZ_MAX_INPUT) {
                b->len = pos;
                buf_append(b, o->data ? o->data + from : "", o->len - from);
            }
            break;
        }
        default: { /* insert a token */
            const char *t = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
            size_t n = t[0] ? strlen(t) : 1;
            if (len + n <= FUZZ_MAX_INPUT) {
                struct buf u = BUF_INIT;
                buf_append(&u, b->data, pos);
                buf_append(&u, t, n);
                buf_append(&u, b->data + pos, len - pos);
                buf_free(b);
                *b = u;
            }
        }
        }
    }
}

static long seconds_per_target(void)
{
    const char *v = getenv("TICKETD_FUZZ_SECONDS");
    long s = v ? strtol(v, NULL, 10) : 30;
    return s > 0 ? s : 30;
}

static long long mono_ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs target over every seed as it is, then over mutants until the time
 * is up. */
static void fuzz(const char *name, int (*target)(const uint8_t *, size_t), struct seeds *s)
{
    crash_capture(name);
    const char *seed = getenv("TICKETD_FUZZ_SEED");
    rng_state = seed ? strtoull(seed, NULL, 0) : 0x5eed7d1cce75ULL;
    if (rng_state == 0)
        rng_state = 1;
    for (size_t i = 0; i < s->n; i++) {
        cur_data = (const unsigned char *)s->v[i].data;
        cur_len = s->v[i].len;
        target(cur_data ? cur_data : (const uint8_t *)"", cur_len);
    }
    long long deadline = mono_ms_now() + seconds_per_target() * 1000;
    long runs = 0;
    struct buf b = BUF_INIT;
    while (mono_ms_now() < deadline) {
        for (int i = 0; i < 16; i++, runs++) {
            const struct buf *from = &s->v[rnd() % s->n];
            b.len = 0;
            buf_append(&b, from->data ? from->data : "", from->len);
            mutate(&b, s);
            cur_data = (const unsigned char *)b.data;
            cur_len = b.len;
            target(cur_data ? cur_data : (const uint8_t *)"", cur_len);
        }
    }
    cur_data = NULL;
    cur_len = 0;
    buf_free(&b);
    print_message("fuzz %s: %zu seeds, %ld mutants in %ld s\n", name, s->n, runs,
                  seconds_per_target());
    assert_true(runs > 100);
}

static void test_fuzz_mail(void **state)
{
    (void)state;
    struct seeds s = { NULL, 0 };
    size_t mails = load_corpus(&s);
    assert_true(mails >= 20); /* tests/data/mail was found */
    fuzz("mail", fuzz_mail_one, &s);
    seeds_free(&s);
}

static void test_fuzz_request(void **state)
{
    (void)state;
    struct seeds s = { NULL, 0 };
    static const char *const shapes[] = {
        "{\"subject\":\"s\",\"flag\":true,\"num\":-7,\"maybe\":null,\"tags\":[\"a\",\"b\"]}",
        "{\"subject\":\"Gr\\u00fc\\u00dfe \xe2\x9c\x93\",\"tags\":[],\"num\":9223372036854775807}",
        "multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n"
        "\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; "
        "filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n--XyZ--\r\n",
        "Host: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        "Transfer-Encoding: chunked\r\nContent-Length : 3\r\n\r\n{}",
        "42", "2026-01-02T03:04:05.123+02:00", "MTIzOmE",
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        seeds_add(&s, shapes[i], strlen(shapes[i]));
    (void)load_corpus(&s); /* mail headers are header blocks too */
    fuzz("request", fuzz_request_one, &s);
    seeds_free(&s);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_mail),
        cmocka_unit_test(test_fuzz_request),
    };
    return cmocka_run_group_tests_name("fuzz", tests, NULL, NULL);
}

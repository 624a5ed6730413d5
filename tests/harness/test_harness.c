/* test_harness.c - the test harness itself: temp dirs, process control,
 * and that each server really comes up, works and goes away.
 *
 * The servers are driven by hand (raw SMTP, LMTP and IMAP dialogues) so a
 * failure here points at the harness, not at ticketd's mail code. How
 * faithful the MongoDB mock is lives in test_mongo_mock.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define IO_MS 5000

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void say(int fd, const char *line)
{
    assert_true(harness_write_all(fd, line, strlen(line)));
    assert_true(harness_write_all(fd, "\r\n", 2));
}

/* Reads an SMTP/LMTP reply (skipping "250-" continuation lines) and
 * checks its code. */
static void expect_code(int fd, const char *code)
{
    char line[512];
    do {
        if (!harness_read_line(fd, line, sizeof line, IO_MS))
            fail_msg("no reply, expected %s", code);
    } while (strlen(line) > 3 && line[3] == '-');
    if (strncmp(line, code, 3) != 0)
        fail_msg("expected %s, got: %s", code, line);
}

/* Sends an IMAP command tagged `tag`; true if the tagged reply is OK.
 * If want is not NULL, *seen tells whether an untagged line equal to it
 * came before. */
static bool imap(int fd, const char *tag, const char *cmd, const char *want, bool *seen)
{
    char line[1024], buf[600];
    size_t tlen = strlen(tag);
    snprintf(buf, sizeof buf, "%s %s", tag, cmd);
    say(fd, buf);
    if (seen)
        *seen = false;
    while (harness_read_line(fd, line, sizeof line, IO_MS)) {
        if (strncmp(line, tag, tlen) == 0 && line[tlen] == ' ')
            return strncmp(line + tlen + 1, "OK", 2) == 0;
        if (want && seen && strcmp(line, want) == 0)
            *seen = true;
    }
    fail_msg("IMAP %s: no tagged reply", cmd);
    return false;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void send_test_mail(int fd, const char *rcpt)
{
    char line[300];
    snprintf(line, sizeof line, "RCPT TO:<%s>", rcpt);
    say(fd, "MAIL FROM:<customer@example.org>");
    expect_code(fd, "250");
    say(fd, line);
    expect_code(fd, "250");
    say(fd, "DATA");
    expect_code(fd, "354");
    static const char body[] = "From: customer@example.org\r\n"
                               "To: support@example.com\r\n"
                               "Subject: harness test\r\n"
                               "Message-ID: <harness-1@example.org>\r\n"
                               "\r\n"
                               "Hello from the harness.\r\n"
                               ".\r\n";
    assert_true(harness_write_all(fd, body, sizeof body - 1));
    expect_code(fd, "250");
}

/* ---- plumbing ---- */

static void test_tempdir_and_rmtree(void **state)
{
    char dir[256], path[512];
    (void)state;
    assert_true(harness_tempdir(dir, sizeof dir));
    assert_non_null(strstr(dir, "/ticketd-test."));
    snprintf(path, sizeof path, "%s/a", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/a/b", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/a/b/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/link", dir);
    assert_int_equal(symlink("/etc", path), 0);     /* must not be followed */

    harness_rmtree(dir);
    assert_false(path_exists(dir));
    assert_true(path_exists("/etc/passwd"));
    harness_rmtree(dir);                            /* already gone: quiet no-op */
}

static void test_rmtree_refuses_other_paths(void **state)
{
    char dir[256];
    (void)state;
    assert_true(harness_tempdir(dir, sizeof dir));
    /* The guard looks for a "/ticketd-test." component: a parent or an
     * unrelated directory is refused. */
    harness_rmtree("/tmp");
    harness_rmtree("");
    harness_rmtree(NULL);
    assert_true(path_exists(dir));
    harness_rmtree(dir);
    assert_false(path_exists(dir));
}

static void test_free_port_and_support_dir(void **state)
{
    char path[1100];
    (void)state;
    int a = harness_free_port(), b = harness_free_port();
    assert_true(a > 1024 && a < 65536);
    assert_true(b > 1024 && b < 65536);
    snprintf(path, sizeof path, "%s/harness.h", harness_support_dir());
    assert_true(path_exists(path));
}

static void test_stop_on_zeroed_struct_twice(void **state)
{
    struct harness_server s;
    (void)state;
    memset(&s, 0, sizeof s);
    harness_stop(&s);
    harness_stop(&s);
    harness_stop(NULL);
    assert_int_equal(s.pid, 0);
}

static void test_mongo_uri_with_db(void **state)
{
    static const char *const cases[][2] = {
        { "mongodb://h:1", "mongodb://h:1/d" },
        { "mongodb://h:1/", "mongodb://h:1/d" },
        { "mongodb://h:1/old?replicaSet=rs&w=majority", "mongodb://h:1/d?replicaSet=rs&w=majority" },
        { "mongodb://u:p@h1:1,h2:2/old", "mongodb://u:p@h1:1,h2:2/d?authSource=old" },
        { "mongodb://u:p@h/?tls=true", "mongodb://u:p@h/d?tls=true&authSource=admin" },
        { "mongodb://u:p@h/x?authsource=other", "mongodb://u:p@h/d?authsource=other" },
        { "mongodb+srv://u:p@c.example.net/?retryWrites=true",
          "mongodb+srv://u:p@c.example.net/d?retryWrites=true&authSource=admin" },
    };
    char out[200];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(harness_mongo_uri_with_db(cases[i][0], "d", out, sizeof out));
        assert_string_equal(out, cases[i][1]);
    }
    assert_false(harness_mongo_uri_with_db("localhost:27017", "d", out, sizeof out));
    assert_false(harness_mongo_uri_with_db("mongodb:///x", "d", out, sizeof out));
    assert_false(harness_mongo_uri_with_db("mongodb://h:1/old", "d", out, 10));
}

/* ---- processes ---- */

/* Alive = exists and is not a zombie (an orphaned zombie may wait a while
 * for PID 1 to reap it, and kill(pid, 0) succeeds on zombies). */
static bool alive(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

/* Whether a process of group pgid still runs (zombies do not). */
static bool group_alive(pid_t pgid)
{
    DIR *d = opendir("/proc");
    bool found = false;
    assert_non_null(d);
    for (struct dirent *e; !found && (e = readdir(d));) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        char st;
        int ppid, pgrp;
        if (p && sscanf(p + 1, " %c %d %d", &st, &ppid, &pgrp) == 3)
            found = pgrp == (int)pgid && st != 'Z';
    }
    closedir(d);
    return found;
}

static bool gone_within(pid_t pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (!alive(pid))
            return true;
        usleep(10 * 1000);
    }
    return !alive(pid);
}

static void spawn_in_tempdir(struct harness_server *s, const char *script)
{
    memset(s, 0, sizeof *s);
    assert_true(harness_tempdir(s->dir, sizeof s->dir));
    const char *argv[] = { "/bin/sh", "-c", script, NULL };
    assert_true(harness_spawn(s, argv));
}

static void test_exit_during_start_fails_fast(void **state)
{
    struct harness_server s;
    char log[400];
    (void)state;
    spawn_in_tempdir(&s, "echo 'cannot bind: port taken' >&2; exit 3");
    assert_false(harness_wait_ready(&s, harness_free_port(), NULL, NULL, 5000));
    assert_int_equal(s.pid, 0);     /* reaped */
    snprintf(log, sizeof log, "%s/server.log", s.dir);
    assert_true(path_exists(log));  /* its stderr went there */
    harness_stop(&s);
}

static void test_wait_ready_is_bounded(void **state)
{
    struct harness_server s;
    (void)state;
    spawn_in_tempdir(&s, "exec sleep 60");     /* never listens */
    assert_false(harness_wait_ready(&s, harness_free_port(), NULL, NULL, 300));
    assert_true(s.pid > 0);
    harness_stop(&s);
}

/* A server that forks a helper ignoring SIGTERM: stop takes the whole
 * process group down, not only the pid it holds. */
static void test_stop_kills_whole_group(void **state)
{
    struct harness_server s;
    char pidfile[400], buf[32] = "";
    (void)state;
    memset(&s, 0, sizeof s);
    assert_true(harness_tempdir(s.dir, sizeof s.dir));
    snprintf(pidfile, sizeof pidfile, "%s/helper.pid", s.dir);
    char script[1400];
    snprintf(script, sizeof script,
             "(trap '' TERM; exec sleep 60) & echo $! > %s.tmp && mv %s.tmp %s; exec sleep 60",
             pidfile, pidfile, pidfile);
    const char *argv[] = { "/bin/sh", "-c", script, NULL };
    assert_true(harness_spawn(&s, argv));
    for (int i = 0; i < 500 && !path_exists(pidfile); i++)
        usleep(10 * 1000);
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    pid_t helper = (pid_t)atoi(buf);
    assert_true(helper > 0 && alive(helper));

    harness_stop(&s);
    assert_true(gone_within(helper, 2000));
}

/* A test process that dies without harness_stop (crash, run.sh timeout)
 * takes its servers along: PR_SET_PDEATHSIG. */
static void test_servers_die_with_the_test(void **state)
{
    struct harness_server s;
    int fds[2];
    pid_t server = 0;
    (void)state;
    memset(&s, 0, sizeof s);
    assert_true(harness_tempdir(s.dir, sizeof s.dir));
    assert_int_equal(pipe(fds), 0);
    pid_t test = fork();
    assert_true(test >= 0);
    if (test == 0) {
        const char *argv[] = { "/bin/sleep", "60", NULL };
        close(fds[0]);
        if (harness_spawn(&s, argv) && write(fds[1], &s.pid, sizeof s.pid) == sizeof s.pid)
            _exit(0);
        _exit(1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &server, sizeof server), (ssize_t)sizeof server);
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(test, &st, 0), test);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(server > 0);
    assert_true(gone_within(server, 3000));
    harness_rmtree(s.dir);
}

/* A test whose assertion fails skips its harness_stop(): the process's
 * exit still kills the servers and removes the dirs it left. */
static void test_exit_sweeps_what_a_failed_test_left(void **state)
{
    struct {
        pid_t pid;
        char dir[256];
    } left = { 0, "" };
    int fds[2];
    (void)state;
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);   /* or the child's exit() would print our buffers again */
    pid_t test = fork();
    assert_true(test >= 0);
    if (test == 0) {
        struct harness_server s;
        const char *argv[] = { "/bin/sleep", "60", NULL };
        close(fds[0]);
        memset(&s, 0, sizeof s);
        if (!harness_tempdir(s.dir, sizeof s.dir) || !harness_spawn(&s, argv))
            _exit(1);
        left.pid = s.pid;
        memcpy(left.dir, s.dir, sizeof left.dir);
        if (write(fds[1], &left, sizeof left) != (ssize_t)sizeof left)
            _exit(1);
        exit(0);    /* like a test binary ending after a failed test */
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &left, sizeof left), (ssize_t)sizeof left);
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(test, &st, 0), test);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(left.pid > 0 && left.dir[0] == '/');
    assert_false(path_exists(left.dir));
    assert_true(gone_within(left.pid, 3000));
}

/* ---- servers ---- */

static void test_stop_kills_and_removes_dir(void **state)
{
    struct harness_server s;
    char dir[256];
    (void)state;
    assert_true(harness_smtp_start(&s));
    pid_t pid = s.pid;
    snprintf(dir, sizeof dir, "%s", s.dir);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, 0), 0);
    assert_true(path_exists(dir));

    harness_stop(&s);
    errno = 0;
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_false(group_alive(pid));         /* nothing left in its group */
    assert_false(path_exists(dir));
    assert_int_equal(s.pid, 0);
    assert_int_equal(s.dir[0], '\0');
    harness_stop(&s);                       /* second stop: no-op */
}

static void test_smtp_sink_keeps_each_mail(void **state)
{
    struct harness_server s;
    char newdir[400], want[64];
    (void)state;
    assert_true(harness_smtp_start(&s));
    snprintf(want, sizeof want, "smtp://127.0.0.1:%d", s.port);
    assert_string_equal(s.uri, want);
    snprintf(newdir, sizeof newdir, "%s/new", s.maildir);
    assert_int_equal(count_files(newdir), 0);

    int fd = harness_connect(s.port, IO_MS);
    assert_true(fd >= 0);
    expect_code(fd, "220");
    say(fd, "EHLO ticketd.test");
    expect_code(fd, "250");
    send_test_mail(fd, "support@example.com");
    say(fd, "QUIT");
    expect_code(fd, "221");
    close(fd);

    /* aiosmtpd saves before it answers 250, so no waiting is needed. */
    assert_int_equal(count_files(newdir), 1);
    harness_stop(&s);
}

static void test_dovecot_lmtp_delivery_shows_in_imap(void **state)
{
    struct harness_server s;
    bool seen;
    (void)state;
    assert_true(harness_dovecot_start(&s, "alice", "secret"));
    assert_true(s.port > 0 && s.lmtp_port > 0 && s.port != s.lmtp_port);
    pid_t pid = s.pid;

    int fd = harness_connect(s.lmtp_port, IO_MS);
    assert_true(fd >= 0);
    expect_code(fd, "220");
    say(fd, "LHLO ticketd.test");
    expect_code(fd, "250");
    send_test_mail(fd, "alice@localhost");
    say(fd, "QUIT");
    expect_code(fd, "221");
    close(fd);

    fd = harness_connect(s.port, IO_MS);
    assert_true(fd >= 0);
    char line[512];
    assert_true(harness_read_line(fd, line, sizeof line, IO_MS));
    assert_memory_equal(line, "* OK", 4);
    assert_false(imap(fd, "a", "LOGIN alice wrong", NULL, NULL));
    assert_true(imap(fd, "b", "LOGIN alice secret", NULL, NULL));
    assert_true(imap(fd, "c", "SELECT INBOX", "* 1 EXISTS", &seen));
    assert_true(seen);
    assert_true(imap(fd, "d", "LOGOUT", NULL, NULL));
    close(fd);

    harness_stop(&s);
    assert_int_equal(kill(pid, 0), -1);
    assert_false(group_alive(pid));         /* imap, lmtp, auth... gone too */
}

static void test_dovecot_rejects_bad_credentials_spec(void **state)
{
    struct harness_server s;
    (void)state;
    assert_false(harness_dovecot_start(&s, "bob", "pass:word"));
    assert_false(harness_dovecot_start(&s, "bob smith", "x"));
    assert_int_equal(s.pid, 0);
}

static void test_mongo_mock_starts_and_stops(void **state)
{
    struct harness_server s;
    char want[200];
    bson_error_t err;
    (void)state;
    if (getenv("TICKETD_TEST_MONGO_URI"))
        skip();     /* this test is about the mock */
    assert_true(harness_mongo_start(&s));
    assert_false(s.external);
    snprintf(want, sizeof want,
             "mongodb://127.0.0.1:%d/ticketd_test?serverSelectionTimeoutMS=5000"
             "&connectTimeoutMS=2000",
             s.port);
    assert_string_equal(s.uri, want);

    mongoc_client_t *c = mongoc_client_new(s.uri);
    assert_non_null(c);
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    assert_true(mongoc_client_command_simple(c, "admin", ping, NULL, NULL, &err));
    bson_destroy(ping);
    mongoc_client_destroy(c);

    pid_t pid = s.pid;
    harness_stop(&s);
    assert_int_equal(kill(pid, 0), -1);
}

/* TICKETD_TEST_MONGO_URI mode, with the mock playing the "real" server:
 * nothing is started, the run gets its own database, and stop drops it. */
static void test_mongo_external_uri(void **state)
{
    struct harness_server mock, ext;
    char env[300], prefix[200];
    bson_error_t err;
    (void)state;
    const char *old = getenv("TICKETD_TEST_MONGO_URI");
    char *saved = old ? strdup(old) : NULL;
    unsetenv("TICKETD_TEST_MONGO_URI");
    assert_true(harness_mongo_start(&mock));
    snprintf(env, sizeof env, "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=3000", mock.port);
    setenv("TICKETD_TEST_MONGO_URI", env, 1);

    assert_true(harness_mongo_start(&ext));
    assert_true(ext.external);
    assert_int_equal(ext.pid, 0);
    assert_int_equal(ext.dir[0], '\0');
    snprintf(prefix, sizeof prefix, "mongodb://127.0.0.1:%d/ticketd_test_", mock.port);
    assert_memory_equal(ext.uri, prefix, strlen(prefix));
    assert_non_null(strstr(ext.uri, "?serverSelectionTimeoutMS=3000"));

    mongoc_client_t *c = mongoc_client_new(ext.uri);
    mongoc_database_t *db = mongoc_client_get_default_database(c);
    char *dbname = strdup(mongoc_database_get_name(db));
    mongoc_collection_t *coll = mongoc_database_get_collection(db, "probe");
    bson_t *doc = BCON_NEW("x", BCON_INT32(1));
    assert_true(mongoc_collection_insert_one(coll, doc, NULL, NULL, &err));
    bson_destroy(doc);
    mongoc_collection_destroy(coll);
    mongoc_database_destroy(db);

    harness_stop(&ext);     /* drops the database */
    char **names = mongoc_client_get_database_names_with_opts(c, NULL, &err);
    assert_non_null(names);
    for (char **n = names; *n; n++)
        assert_string_not_equal(*n, dbname);
    bson_strfreev(names);
    free(dbname);
    mongoc_client_destroy(c);

    /* An unreachable server is a clean failure, not a hang. */
    setenv("TICKETD_TEST_MONGO_URI", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300", 1);
    assert_false(harness_mongo_start(&ext));
    harness_stop(&ext);

    if (saved) {
        setenv("TICKETD_TEST_MONGO_URI", saved, 1);
        free(saved);
    } else {
        unsetenv("TICKETD_TEST_MONGO_URI");
    }
    harness_stop(&mock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tempdir_and_rmtree),
        cmocka_unit_test(test_rmtree_refuses_other_paths),
        cmocka_unit_test(test_free_port_and_support_dir),
        cmocka_unit_test(test_stop_on_zeroed_struct_twice),
        cmocka_unit_test(test_mongo_uri_with_db),
        cmocka_unit_test(test_exit_during_start_fails_fast),
        cmocka_unit_test(test_wait_ready_is_bounded),
        cmocka_unit_test(test_stop_kills_whole_group),
        cmocka_unit_test(test_servers_die_with_the_test),
        cmocka_unit_test(test_exit_sweeps_what_a_failed_test_left),
        cmocka_unit_test(test_stop_kills_and_removes_dir),
        cmocka_unit_test(test_smtp_sink_keeps_each_mail),
        cmocka_unit_test(test_dovecot_lmtp_delivery_shows_in_imap),
        cmocka_unit_test(test_dovecot_rejects_bad_credentials_spec),
        cmocka_unit_test(test_mongo_mock_starts_and_stops),
        cmocka_unit_test(test_mongo_external_uri),
    };
    mongoc_init();
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    mongoc_cleanup();
    return failed;
}

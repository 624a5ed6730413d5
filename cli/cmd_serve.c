/* cmd_serve.c - `ticketd serve` (every module) or one module by name.
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigwait(): SIGTERM/SIGINT stop the modules (each drains its in-flight
 * work within a bounded time), SIGHUP asks them to reload. */
#include "cli.h"
#include "core/log.h"
#include "modules.h"
#include "sdnotify.h"

#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* SIGHUP: [log] level and format again, from the file (the environment
 * still wins, as at start). A file that no longer loads, or bad values,
 * keep the running settings. */
static void reload_logging(const char *config_path)
{
    struct td_config *cfg = NULL;
    struct td_err err;
    td_err_clear(&err);
    if (!config_load(config_path, &cfg, &err)) {
        log_event(LOG_WARN, "log_reload_failed", LF_S("error", err.msg));
        return;
    }
    enum log_level level;
    enum log_format format;
    const char *l = config_str(cfg, "log", "level", "info");
    const char *f = config_str(cfg, "log", "format", "logfmt");
    if (!log_level_parse(l, &level) || !log_format_parse(f, &format)) {
        log_event(LOG_WARN, "log_reload_failed",
                  LF_S("error", "[log] level or format is not valid; the old ones stay"));
    } else {
        log_setup(level, format, 2);
        log_event(LOG_INFO, "log_reloaded", LF_S("level", l), LF_S("format", f));
    }
    config_free(cfg);
}

int cmd_serve(int argc, char **argv, const char *config_path, const char *role)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ticketd [--config FILE] %s\n"
               "Runs %s\nin the foreground until SIGTERM or SIGINT; SIGHUP reloads.\n",
               role ? role : "serve", role ? role : "the API, the mail gateway and the outbox sender");
        return EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "ticketd: %s: unexpected argument '%s'\n", role ? role : "serve", argv[1]);
        return EXIT_USAGE;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
    signal(SIGPIPE, SIG_IGN);

    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    void *handles[8] = { 0 };
    int started = 0;
    struct td_err err;
    td_err_clear(&err);
    /* Bad config fails here, before any module starts: each module's
     * check reads all its keys; with every module (serve), a key nobody
     * read is a typo. One role alone cannot tell another module's keys
     * from typos: `ticketd check-config` checks the whole file. */
    for (int i = 0; i < cli_n_modules; i++) {
        if ((role && strcmp(role, cli_modules[i].name) != 0) || cli_modules[i].check == NULL)
            continue;
        if (!cli_modules[i].check(&env, &err)) {
            rc = cli_fail(cli_modules[i].name, &err);
            goto stop;
        }
    }
    if (role == NULL && !config_check_unread(env.cfg, &err)) {
        rc = cli_fail("config", &err);
        goto stop;
    }
    for (int i = 0; i < cli_n_modules; i++) {
        if (role && strcmp(role, cli_modules[i].name) != 0)
            continue;
        if (!cli_modules[i].start(&env, &handles[i], &err)) {
            rc = cli_fail(cli_modules[i].name, &err);
            goto stop;
        }
        started++;
        log_event(LOG_INFO, "module_started", LF_S("module", cli_modules[i].name));
    }
    if (role && started == 0) {
        fprintf(stderr, "ticketd: %s: this build has no such module\n", role);
        rc = EXIT_USAGE;
        goto stop;
    }
    log_event(LOG_INFO, "ready", LF_S("version", TICKETD_VERSION), LF_S("store", env.store->ops->name));
    char status[200];
    snprintf(status, sizeof status, "READY=1\nSTATUS=serving (%s, store %s)\nMAINPID=%ld",
             role ? role : "serve", env.store->ops->name, (long)getpid());
    if (!sdnotify(status))
        log_event(LOG_WARN, "sd_notify_failed", LF_S("state", "READY"));
    /* The watchdog (sdnotify.c): the main thread wakes every half
     * interval, pings the store and says it is alive. */
    int64_t wd_ms = sdnotify_watchdog_ms();
    for (;;) {
        int sig = 0;
        if (wd_ms > 0) {
            struct timespec ts = { (time_t)(wd_ms / 1000), (long)(wd_ms % 1000) * 1000000L };
            sig = sigtimedwait(&set, NULL, &ts);
            if (sig < 0) { /* timeout (or EINTR): alive, if the store call returns */
                struct td_err perr;
                td_err_clear(&perr);
                (void)env.store->ops->ping(env.store, &perr);
                sdnotify("WATCHDOG=1");
                continue;
            }
        } else if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            char reloading[80];
            snprintf(reloading, sizeof reloading, "RELOADING=1\nMONOTONIC_USEC=%lld",
                     (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000);
            sdnotify(reloading);
            log_event(LOG_INFO, "reload");
            reload_logging(config_path);
            for (int i = 0; i < cli_n_modules; i++)
                if (handles[i] && cli_modules[i].reload)
                    cli_modules[i].reload(handles[i]);
            sdnotify("READY=1");
            continue;
        }
        sdnotify("STOPPING=1");
        log_event(LOG_INFO, "stopping", LF_S("signal", sig == SIGTERM ? "TERM" : "INT"));
        break;
    }
stop:
    for (int i = cli_n_modules - 1; i >= 0; i--)
        if (handles[i])
            cli_modules[i].stop(handles[i]);
    cli_env_close(&env);
    if (started > 0) /* a refused config is the one error line, nothing more */
        log_event(LOG_INFO, "stopped", LF_I("exit", rc));
    return rc;
}

static void warn_line(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "ticketd: check-config: warning: %s\n", msg);
}

static void print_key(void *arg, const char *section, const char *key)
{
    (void)arg;
    printf("[%s] %s\n", section, key);
}

int cmd_check_config(int argc, char **argv, const char *config_path)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ticketd [--config FILE] check-config [--keys]\n"
               "Reads the whole configuration as `serve` would, validates every key of\n"
               "every module, reaches the store, and starts nothing. Exit 0 when ok,\n"
               "3 with a one-line error naming the key when not, 4 when the store\n"
               "cannot be reached. --keys: print every key ticketd reads, set or not,\n"
               "one '[section] key' a line, instead of 'config ok'.\n");
        return EXIT_OK;
    }
    bool list_keys = argc > 1 && strcmp(argv[1], "--keys") == 0;
    if (list_keys) {
        argc--;
        argv++;
    }
    if (argc > 1) {
        fprintf(stderr, "ticketd: check-config: unexpected argument '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    /* The core keys are read and the store reached by cli_env_open; each
     * module then reads and validates its own keys without starting; a
     * key nobody read is a typo. */
    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    struct td_err err;
    td_err_clear(&err);
    for (int i = 0; i < cli_n_modules && rc == EXIT_OK; i++)
        if (cli_modules[i].check && !cli_modules[i].check(&env, &err))
            rc = cli_fail(cli_modules[i].name, &err);
    if (rc == EXIT_OK && !config_check_unread(env.cfg, &err))
        rc = cli_fail("config", &err);
    if (rc == EXIT_OK)
        store_file_modes_check(config_str(env.cfg, "store", "uri", "sqlite:ticketd.db"), warn_line,
                               NULL);
    if (rc == EXIT_OK && list_keys)
        config_each_asked(env.cfg, print_key, NULL);
    else if (rc == EXIT_OK)
        printf("config ok (store: %s)\n", env.store->ops->name);
    cli_env_close(&env);
    return rc;
}

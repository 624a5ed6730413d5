/* main.c - ticketd: one binary, subcommands. The library (core/) does
 * the work; this only parses the command line and drives it. */
#include "cli.h"
#include "core/log.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] COMMAND [ARGS]\n"
          "commands:\n"
          "  serve          run the API, mail gateway, senders and scheduler (automations)\n"
          "  api | mailgw | sender | hooks | scheduler   run one of them\n"
          "  user ...       add, list, disable, enable users, set roles and passwords\n"
          "  check-config   validate the configuration and reach the store\n"
          "  quarantine ... list, show, retry or delete mail the gateway kept back\n"
          "  backup FILE    copy the SQLite database to FILE, consistent while serving\n"
          "  restore FILE   replace the SQLite database with a backup (ticketd stopped)\n"
          "  --version      print the version, the commit and the store schema versions\n"
          "  ticket merge SOURCE TARGET   merge a duplicate ticket into another\n"
          "  alias ...      add, list or remove an agent's extra sending addresses\n"
          "  group ...      add, list, show or remove groups; add or remove their agents\n"
          "The config file may also be given as TICKETD_CONFIG; every key can be\n"
          "overridden by TICKETD_<SECTION>_<KEY> (a TICKETD_* variable that is no\n"
          "key is an error). `ticketd COMMAND --help` for more.\n"
          "Exit status: 0 ok, 1 runtime failure (or no such user/item), 2 bad command\n"
          "line or value, 3 bad configuration, 4 store or server unreachable.\n",
          f);
}

/* glibc gives a thread that finds the arenas busy one of its own, up to
 * 8 per core, and each keeps the memory freed into it. ticketd runs
 * ~20 threads (request, write, sending, polling): on 2 cores that meant
 * up to 16 arenas, and 4-5 MB more peak RSS in `make bench` than with 4
 * at the same throughput (docs/performance.md). Two per core, at least
 * 4 - unless the environment already says (MALLOC_ARENA_MAX or
 * GLIBC_TUNABLES), which then wins. */
static void limit_malloc_arenas(void)
{
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL)
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int arenas = cpus > 2 ? (int)(cpus > 64 ? 128 : 2 * cpus) : 4;
    /* 0 means refused (not glibc's malloc, e.g. under ASan): its default stays. */
    (void)mallopt(M_ARENA_MAX, arenas);
}

int main(int argc, char **argv)
{
    limit_malloc_arenas(); /* before any thread */
    const char *config_path = getenv("TICKETD_CONFIG");
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--version") == 0) {
            cli_print_version(stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
            config_path = argv[i + 1];
            i += 2;
            continue;
        }
        fprintf(stderr, "ticketd: unknown option '%s'\n", argv[i]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    /* Only the daemons log events; a one-shot command's stdout and stderr
     * are its answer, with warnings and errors only. */
    bool daemon = strcmp(cmd, "serve") == 0 || strcmp(cmd, "api") == 0 ||
                  strcmp(cmd, "mailgw") == 0 || strcmp(cmd, "sender") == 0 ||
                  strcmp(cmd, "scheduler") == 0;
    if (!daemon)
        log_set_floor(LOG_WARN);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(sub_argc, sub_argv, config_path, NULL);
    if (strcmp(cmd, "api") == 0 || strcmp(cmd, "mailgw") == 0 || strcmp(cmd, "sender") == 0 ||
        strcmp(cmd, "hooks") == 0 || strcmp(cmd, "scheduler") == 0)
        return cmd_serve(sub_argc, sub_argv, config_path, cmd);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "token") == 0)
        return cmd_token(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "quarantine") == 0)
        return cmd_quarantine(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0)
        return cmd_backup(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "ticket") == 0)
        return cmd_ticket(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "alias") == 0)
        return cmd_alias(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "group") == 0)
        return cmd_group(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check_config(sub_argc, sub_argv, config_path);
    fprintf(stderr, "ticketd: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}

/* main.c - ticketd: one binary, subcommands. The library (core/) does
 * the work; this only parses the command line and drives it. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] COMMAND [ARGS]\n"
          "commands:\n"
          "  serve          run the API, the mail gateway and the outbox sender\n"
          "  api | mailgw | sender   run one of them\n"
          "  user ...       add, list, disable, enable users, set roles\n"
          "  check-config   validate the configuration and reach the store\n"
          "  quarantine ... list, show, retry or delete mail the gateway kept back\n"
          "  ticket merge SOURCE TARGET   merge a duplicate ticket into another\n"
          "  alias ...      add, list or remove an agent's extra sending addresses\n"
          "  --version      print the version\n"
          "The config file may also be given as TICKETD_CONFIG; every key can be\n"
          "overridden by TICKETD_<SECTION>_<KEY>. `ticketd COMMAND --help` for more.\n",
          f);
}

int main(int argc, char **argv)
{
    const char *config_path = getenv("TICKETD_CONFIG");
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--version") == 0) {
            printf("ticketd %s\n", TICKETD_VERSION);
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
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(sub_argc, sub_argv, config_path, NULL);
    if (strcmp(cmd, "api") == 0 || strcmp(cmd, "mailgw") == 0 || strcmp(cmd, "sender") == 0)
        return cmd_serve(sub_argc, sub_argv, config_path, cmd);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "quarantine") == 0)
        return cmd_quarantine(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "ticket") == 0)
        return cmd_ticket(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "alias") == 0)
        return cmd_alias(sub_argc, sub_argv, config_path);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check_config(sub_argc, sub_argv, config_path);
    fprintf(stderr, "ticketd: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}

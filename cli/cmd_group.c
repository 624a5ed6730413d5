/* cmd_group.c - `ticketd group ...`: groups and their agents
 * (core/group.h) for an operator. The command line acts as the system
 * (an admin's rights); agents are named by their address. Exit codes as
 * `user`: 0 ok, 1 no such group or agent (or a taken key), 2 a bad
 * command line or value, 3 bad configuration, 4 store unreachable. */
#include "cli.h"
#include "core/group.h"
#include "core/user.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] group add KEY [NAME]\n"
          "       ticketd [--config FILE] group list\n"
          "       ticketd [--config FILE] group show KEY\n"
          "       ticketd [--config FILE] group remove KEY\n"
          "       ticketd [--config FILE] group member-add KEY AGENT_EMAIL\n"
          "       ticketd [--config FILE] group member-remove KEY AGENT_EMAIL\n"
          "A group's KEY is the queue of its tickets (a mailbox's queue, a route's\n"
          "group): 1-64 of A-Z a-z 0-9 . _ -. New-ticket notices of a group go to\n"
          "its members (to every agent while it has none).\n",
          f);
}

static const struct {
    const char *op;
    int argc; /* including "group" and the op; add also takes one more */
} ops[] = {
    { "add", 3 }, { "list", 2 }, { "show", 3 }, { "remove", 3 },
    { "member-add", 4 }, { "member-remove", 4 },
};

static bool args_ok(int argc, char **argv)
{
    if (argc < 2)
        return false;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(argv[1], ops[i].op) == 0)
            return argc == ops[i].argc || (strcmp(ops[i].op, "add") == 0 && argc == 4);
    return false;
}

static void print_group(struct td_core *c, const struct td_group *g)
{
    printf("key: %s\nname: %s\nmembers: %zu\n", g->key, g->name ? g->name : "", g->members.n);
    for (size_t i = 0; i < g->members.n; i++) {
        struct td_user u;
        if (c->store->ops->user_get(c->store, g->members.v[i], &u, NULL)) {
            printf("  %s\t%s\n", u.email, u.id);
            user_clear(&u);
        } else {
            printf("  (unknown)\t%s\n", g->members.v[i]);
        }
    }
}

static bool member_op(struct td_core *c, bool add, const char *key, const char *email,
                      struct td_err *err)
{
    struct td_user agent;
    if (!user_find_by_email(c, email, &agent, err))
        return false;
    bool ok = add ? group_add_member(c, NULL, key, agent.id, NULL, err)
                  : group_remove_member(c, NULL, key, agent.id, NULL, err);
    if (ok)
        printf("%s %s group %s\n", agent.email, add ? "joined" : "left", key);
    user_clear(&agent);
    return ok;
}

int cmd_group(int argc, char **argv, const char *config_path)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!args_ok(argc, argv)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    struct td_core *c = &env.core;
    const char *op = argv[1];
    struct td_err err;
    td_err_clear(&err);
    bool ok;
    if (strcmp(op, "list") == 0) {
        struct td_group_list l = { NULL, 0 };
        ok = group_list(c, NULL, &l, &err);
        for (size_t i = 0; ok && i < l.n; i++)
            printf("%s\t%s\t%zu member%s\n", l.v[i].key, l.v[i].name, l.v[i].members.n,
                   l.v[i].members.n == 1 ? "" : "s");
        group_list_clear(&l);
    } else if (strcmp(op, "add") == 0) {
        ok = group_create(c, NULL, argv[2], argc == 4 ? argv[3] : NULL, NULL, &err);
        if (ok)
            printf("group %s added\n", argv[2]);
    } else if (strcmp(op, "show") == 0) {
        struct td_group g;
        ok = group_get(c, NULL, argv[2], &g, &err);
        if (ok) {
            print_group(c, &g);
            group_clear(&g);
        }
    } else if (strcmp(op, "remove") == 0) {
        ok = group_delete(c, NULL, argv[2], &err);
        if (ok)
            printf("group %s removed\n", argv[2]);
    } else {
        ok = member_op(c, strcmp(op, "member-add") == 0, argv[2], argv[3], &err);
    }
    if (!ok)
        rc = cli_fail_op("group", &err);
    cli_env_close(&env);
    return rc;
}

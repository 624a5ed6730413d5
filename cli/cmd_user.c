/* cmd_user.c - `ticketd user add|list|disable|enable|restrict|unrestrict|set-role|passwd`.
 * The first admin is created here; afterwards admins manage users over
 * the API. Exit codes, the same for every verb: 0 done, 1 no such user
 * or a clash (the address is taken), 2 bad command line or a value core
 * refuses (an address, a too short password), 3 bad configuration, 4 the
 * store cannot be reached. */
#include "cli.h"
#include "core/scope.h"
#include "core/mem.h"
#include "core/user.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] user add --email ADDR [--name NAME] [--role admin|agent|customer]\n"
          "                                [--password-file FILE | --password-stdin]\n"
          "       ticketd [--config FILE] user list [--role ROLE]\n"
          "       ticketd [--config FILE] user disable|enable --email ADDR\n"
          "       ticketd [--config FILE] user restrict|unrestrict --email ADDR\n"
          "       ticketd [--config FILE] user set-role --email ADDR --role ROLE\n"
          "       ticketd [--config FILE] user passwd --email ADDR [--password-file FILE]\n"
          "Passwords are never taken on the command line (other users can read it);\n"
          "give them in a file or on standard input (passwd reads standard input\n"
          "unless --password-file is given). A new password ends the user's sessions.\n"
          "A restricted agent sees only the tickets of their groups (ticketd group)\n"
          "and those assigned to them.\n"
          "Exit: 0 done, 1 no such user or address taken, 2 bad arguments or value,\n"
          "3 bad configuration, 4 store unreachable.\n",
          f);
}

static bool read_password(const char *file, bool from_stdin, char *out, size_t len)
{
    FILE *f = from_stdin ? stdin : fopen(file, "r");
    if (f == NULL)
        return false;
    bool ok = fgets(out, (int)len, f) != NULL;
    if (!from_stdin)
        fclose(f);
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return ok;
}

static void print_user(const struct td_user *u)
{
    printf("%s\t%s\t%s\t%s%s%s\n", u->id, u->email, role_name(u->role), u->name,
           u->disabled ? "\t(disabled)" : "", u->restricted ? "\t(restricted)" : "");
}

int cmd_user(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *verb = argv[1];
    const char *email = NULL, *name = NULL, *role_s = NULL, *pw_file = NULL;
    bool pw_stdin = false;
    static const struct option opts[] = {
        { "email", required_argument, NULL, 'e' },  { "name", required_argument, NULL, 'n' },
        { "role", required_argument, NULL, 'r' },   { "password-file", required_argument, NULL, 'p' },
        { "password-stdin", no_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e': email = optarg; break;
        case 'n': name = optarg; break;
        case 'r': role_s = optarg; break;
        case 'p': pw_file = optarg; break;
        case 's': pw_stdin = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    enum td_role role = ROLE_CUSTOMER;
    if (role_s && !role_parse(role_s, &role)) {
        fprintf(stderr, "ticketd: user: unknown role '%s' (admin, agent or customer)\n", role_s);
        return EXIT_USAGE;
    }
    bool needs_email = strcmp(verb, "list") != 0;
    if (needs_email && email == NULL) {
        fprintf(stderr, "ticketd: user %s: --email is required\n", verb);
        return EXIT_USAGE;
    }
    if (strcmp(verb, "add") && strcmp(verb, "list") && strcmp(verb, "disable") &&
        strcmp(verb, "enable") && strcmp(verb, "set-role") && strcmp(verb, "passwd") &&
        strcmp(verb, "restrict") && strcmp(verb, "unrestrict")) {
        fprintf(stderr, "ticketd: user: unknown command '%s' (add, list, disable, enable, "
                        "restrict, unrestrict, set-role, passwd)\n", verb);
        return EXIT_USAGE;
    }
    bool passwd = strcmp(verb, "passwd") == 0;
    if (passwd && pw_file == NULL)
        pw_stdin = true;
    if (strcmp(verb, "set-role") == 0 && role_s == NULL) {
        fprintf(stderr, "ticketd: user set-role: --role is required\n");
        return EXIT_USAGE;
    }
    char password[1100] = "";
    if ((pw_file || pw_stdin) && !read_password(pw_file, pw_stdin, password, sizeof password)) {
        fprintf(stderr, "ticketd: user: cannot read the password\n");
        return EXIT_USAGE;
    }

    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    struct td_err err;
    td_err_clear(&err);
    struct td_user u;
    memset(&u, 0, sizeof u);
    if (strcmp(verb, "add") == 0) {
        struct user_new in = { email, name, role_s ? role : ROLE_CUSTOMER,
                               password[0] ? password : NULL };
        if (user_create(&env.core, NULL, &in, &u, &err))
            print_user(&u);
        else
            rc = cli_fail_op("user add", &err);
    } else if (strcmp(verb, "list") == 0) {
        struct td_user_list l = { NULL, 0 };
        if (user_list(&env.core, NULL, role_s ? (int)role : -1, &l, &err)) {
            for (size_t i = 0; i < l.n; i++)
                print_user(&l.v[i]);
            user_list_clear(&l);
        } else {
            rc = cli_fail_op("user list", &err);
        }
    } else {
        char what[64];
        snprintf(what, sizeof what, "user %s", verb);
        bool ok = user_find_by_email(&env.core, email, &u, &err);
        if (ok && strcmp(verb, "set-role") == 0)
            ok = user_set_role(&env.core, NULL, u.id, role, &err);
        else if (ok && passwd)
            ok = user_set_password(&env.core, NULL, u.id, password, &err);
        else if (ok && strstr(verb, "restrict") != NULL)
            ok = scope_set_restricted(&env.core, NULL, u.id, strcmp(verb, "restrict") == 0, &err);
        else if (ok)
            ok = user_set_disabled(&env.core, NULL, u.id, strcmp(verb, "disable") == 0, &err);
        if (!ok)
            rc = cli_fail_op(what, &err);
        else
            printf("%s: done\n", email);
    }
    memset(password, 0, sizeof password);
    user_clear(&u);
    cli_env_close(&env);
    return rc;
}

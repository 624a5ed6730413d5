/* test_notify_plan.c - the notification planner: who gets which mail for
 * which change, the loop guard, and that replaying history (the
 * reconciler) writes exactly the rows the hook wrote - on SQLite and on
 * MongoDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/id.h"
#include "core/participant.h"
#include "notify_fixture.h"

#define ACK "ticket_created_ack"
#define AGENTS_NEW "ticket_created_agents"
#define TO_REQ "reply_to_requester"
#define TO_AGENTS "reply_to_agents"
#define NOTE "internal_note"
#define ASSIGNED "assigned"
#define RESOLVED "status_resolved"
#define CLOSED "status_closed"

/* The payload value name of the only row of kind to `to`. */
static char *payload_var(struct nfx *f, const char *kind, const char *to, const char *name)
{
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    char *v = NULL;
    for (size_t i = 0; i < l.n && v == NULL; i++) {
        if (strcmp(l.v[i].kind, kind) != 0 || strcmp(l.v[i].recipient, to) != 0)
            continue;
        json_t *root = json_loads(l.v[i].payload, 0, NULL);
        assert_non_null(root);
        const char *s = json_string_value(json_object_get(json_object_get(root, "vars"), name));
        v = strdup(s ? s : "(missing)");
        json_decref(root);
    }
    outbox_list_clear(&l);
    if (v == NULL)
        fail_msg("no %s row to %s", kind, to);
    return v;
}

static void assert_var(struct nfx *f, const char *kind, const char *to, const char *name,
                       const char *want)
{
    char *v = payload_var(f, kind, to, name);
    if (strcmp(v, want) != 0)
        fail_msg("%s to %s: %s = '%s', want '%s'", kind, to, name, v, want);
    free(v);
}

static void customer_opens_ticket(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Printer on fire", "It burns.\nHelp!");
    /* Acknowledgement to the requester (their own action, still sent),
     * notice to every agent and admin, nothing for the description. */
    assert_int_equal(nfx_count(f, ACK, "cust1@example.org", n, OUTBOX_PENDING), 1);
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, n, -1), 3);
    assert_int_equal(nfx_count(f, AGENTS_NEW, "admin@example.com", n, -1), 1);
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent1@example.com", n, -1), 1);
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent2@example.com", n, -1), 1);
    assert_int_equal(nfx_count(f, NULL, NULL, 0, -1), 4);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)n);
    assert_var(f, ACK, "cust1@example.org", "ticket_number", num);
    assert_var(f, ACK, "cust1@example.org", "subject", "Printer on fire");
    assert_var(f, ACK, "cust1@example.org", "body", "It burns.\nHelp!");
    assert_var(f, ACK, "cust1@example.org", "recipient", "Cy Customer");
    assert_var(f, AGENTS_NEW, "agent2@example.com", "author", "Cy Customer");
    assert_var(f, AGENTS_NEW, "agent2@example.com", "author_email", "cust1@example.org");
    assert_var(f, AGENTS_NEW, "agent2@example.com", "status", "new");
    char url[80];
    snprintf(url, sizeof url, "https://help.example.com/t/%lld", (long long)n);
    assert_var(f, AGENTS_NEW, "agent2@example.com", "ticket_url", url);
    /* A customer without a display name is called by address. */
    int64_t m = nfx_open(f, &f->cust2, NULL, "Hello", "x");
    assert_var(f, ACK, "cust2@example.org", "recipient", "cust2");
    assert_int_equal(nfx_count(f, NULL, NULL, m, -1), 4);
}

static void agent_opens_for_customer(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->agent1, f->cust2.id, "Phoned in", "Customer called about X");
    assert_int_equal(nfx_count(f, ACK, "cust2@example.org", n, -1), 1);
    /* The agent who opened it is not told about it. */
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent1@example.com", n, -1), 0);
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, n, -1), 2);
    assert_var(f, ACK, "cust2@example.org", "author", "Al Agent");
}

static void replies_go_to_the_other_side(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Question", "How?");
    size_t base = nfx_count(f, NULL, NULL, 0, -1);
    /* Agent answers (status new -> open on the way: no mail for that). */
    nfx_comment(f, &f->agent2, n, "Like this.", false);
    assert_int_equal(nfx_count(f, TO_REQ, "cust1@example.org", n, -1), 1);
    assert_int_equal(nfx_count(f, NULL, NULL, 0, -1), base + 1);
    assert_var(f, TO_REQ, "cust1@example.org", "body", "Like this.");
    assert_var(f, TO_REQ, "cust1@example.org", "author", "Bo Agent");
    /* Customer answers while unassigned: every agent and admin. */
    nfx_comment(f, &f->cust1, n, "Thanks, but...", false);
    assert_int_equal(nfx_count(f, TO_AGENTS, NULL, n, -1), 3);
    assert_int_equal(nfx_count(f, TO_AGENTS, "cust1@example.org", n, -1), 0);
    /* Once claimed: only the assignee. Claiming is their own action. */
    struct td_err err;
    assert_true(ticket_claim(&f->core, &f->agent1, n, NULL, &err));
    assert_int_equal(nfx_count(f, ASSIGNED, NULL, n, -1), 0);
    nfx_comment(f, &f->cust1, n, "Still broken", false);
    assert_int_equal(nfx_count(f, TO_AGENTS, NULL, n, -1), 4);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent1@example.com", n, -1), 2);
    assert_var(f, TO_AGENTS, "agent1@example.com", "body", "Thanks, but...");
}

static void internal_notes_stay_internal(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Secret stuff", "Hi");
    size_t before = nfx_count(f, NULL, NULL, 0, -1);
    /* Unassigned: nobody in particular to tell. */
    nfx_comment(f, &f->agent2, n, "customer is a VIP", true);
    assert_int_equal(nfx_count(f, NULL, NULL, 0, -1), before);
    struct td_err err;
    assert_true(ticket_assign(&f->core, &f->admin, n, f->agent1.id, NULL, &err));
    assert_int_equal(nfx_count(f, ASSIGNED, "agent1@example.com", n, -1), 1);
    assert_var(f, ASSIGNED, "agent1@example.com", "author", "Ada Admin");
    nfx_comment(f, &f->agent2, n, "watch out", true);
    assert_int_equal(nfx_count(f, NOTE, "agent1@example.com", n, -1), 1);
    /* The assignee's own note: nobody. */
    nfx_comment(f, &f->agent1, n, "noted", true);
    assert_int_equal(nfx_count(f, NOTE, NULL, n, -1), 1);
    /* The customer never got anything but the acknowledgement. */
    assert_int_equal(nfx_count(f, NULL, "cust1@example.org", 0, -1), 1);
    /* Even if the customer were made the assignee's stand-in by a
     * misconfiguration, staff-only kinds never go to a customer: the
     * planner checks the recipient's role per row. */
    struct td_outbox_list rows = { NULL, 0 };
    struct td_ticket t;
    assert_true(f->st->ops->ticket_get(f->st, n, &t, &err));
    struct td_event ev = { .ticket = n, .kind = EVENT_COMMENT, .at = td_now(),
                           .old_value = (char *)"internal", .new_value = (char *)"x" };
    memcpy(ev.actor_id, f->agent2.id, sizeof ev.actor_id);
    assert_true(notify_plan(notify_config_of(notify_of(&f->core)), f->st, &t, &ev, 1,
                            f->cust2.id, 0, &rows, &err));
    assert_int_equal(rows.n, 0);
    outbox_list_clear(&rows);
    ticket_clear(&t);
}

static void status_notices(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Done soon", "x");
    nfx_status(f, &f->agent1, n, STATUS_RESOLVED);
    assert_int_equal(nfx_count(f, RESOLVED, "cust1@example.org", n, -1), 1);
    assert_var(f, RESOLVED, "cust1@example.org", "status", "resolved");
    assert_var(f, RESOLVED, "cust1@example.org", "old_status", "new");
    /* The customer closing their own ticket hears nothing about it. */
    nfx_status(f, &f->cust1, n, STATUS_CLOSED);
    assert_int_equal(nfx_count(f, CLOSED, NULL, n, -1), 0);
    /* An agent closing it: the customer is told. */
    int64_t m = nfx_open(f, &f->cust2, NULL, "Other", "y");
    nfx_status(f, &f->agent2, m, STATUS_CLOSED);
    assert_int_equal(nfx_count(f, CLOSED, "cust2@example.org", m, -1), 1);
    /* Priority and tags: no mail. */
    size_t before = nfx_count(f, NULL, NULL, 0, -1);
    struct ticket_patch p = { .has_priority = true, .priority = PRIORITY_URGENT };
    struct td_err err;
    assert_true(ticket_update(&f->core, &f->agent1, m, &p, 0, NULL, &err));
    assert_int_equal(nfx_count(f, NULL, NULL, 0, -1), before);
}

static void auto_submitted_mail_gets_no_ack(void **state)
{
    struct nfx *f = *state;
    struct ticket_new in = { .subject = "Out of office", .body = "I am away",
                             .source = SOURCE_EMAIL, .message_id = "<ooo.1@example.org>",
                             .auto_submitted = true };
    struct td_ticket t;
    struct td_err err;
    assert_true(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    assert_int_equal(nfx_count(f, ACK, NULL, t.number, -1), 0);
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, t.number, -1), 3);
    /* The flag is in the history, so the replay agrees. */
    struct td_event_list h = { NULL, 0 };
    assert_true(f->st->ops->history_list(f->st, t.number, &h, &err));
    assert_string_equal(h.v[0].old_value, TICKET_CREATED_AUTO);
    event_list_clear(&h);
    size_t ins = 99;
    assert_true(notify_reconcile(notify_config_of(notify_of(&f->core)), f->st, NULL, 0, td_now(), &ins, &err));
    assert_int_equal(ins, 0);
    assert_int_equal(nfx_count(f, ACK, NULL, t.number, -1), 0);
    ticket_clear(&t);
}

static void rules_can_be_switched_off(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Quiet", "x");
    assert_int_equal(nfx_count(f, ACK, NULL, n, -1), 1);
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, n, -1), 2); /* admins are not agents here */
    assert_int_equal(nfx_count(f, AGENTS_NEW, "admin@example.com", n, -1), 0);
    nfx_comment(f, &f->agent1, n, "hi", false);
    assert_int_equal(nfx_count(f, TO_REQ, NULL, n, -1), 0);
}

/* The scenario both replay tests run. Returns the ticket numbers. */
static void scenario(struct nfx *f, int64_t out[2])
{
    struct td_err err;
    out[0] = nfx_open(f, &f->cust1, NULL, "One", "first");
    out[1] = nfx_open(f, &f->agent1, f->cust2.id, "Two", "second");
    nfx_comment(f, &f->agent2, out[0], "answer", false);
    nfx_comment(f, &f->cust1, out[0], "thanks", false);
    assert_true(ticket_assign(&f->core, &f->admin, out[0], f->agent2.id, NULL, &err));
    nfx_comment(f, &f->agent1, out[0], "fyi", true);
    nfx_comment(f, &f->cust1, out[0], "more", false);
    assert_true(ticket_claim(&f->core, &f->agent1, out[1], NULL, &err));
    nfx_comment(f, &f->cust2, out[1], "question", false);
    nfx_status(f, &f->agent2, out[0], STATUS_RESOLVED);
    nfx_status(f, &f->agent1, out[1], STATUS_CLOSED);
}

static void replay_after_the_hook_adds_nothing(void **state)
{
    struct nfx *f = *state;
    int64_t n[2];
    scenario(f, n);
    size_t rows = nfx_count(f, NULL, NULL, 0, -1);
    assert_int_equal(rows, 4 + 3 + 1 + 3 + 1 + 1 + 1 + 1 + 1 + 1);
    size_t ins = 99;
    struct td_err err;
    assert_true(notify_reconcile(notify_config_of(notify_of(&f->core)), f->st, NULL, 0, td_now(), &ins, &err));
    assert_int_equal(ins, 0);
    assert_int_equal(nfx_count(f, NULL, NULL, 0, -1), rows);
}

static void replay_finds_what_a_crash_lost(void **state)
{
    struct nfx *f = *state;
    /* The process "crashes" between every change and its hook. */
    f->core.on_events = NULL;
    int64_t n[2];
    td_time t0 = td_now();
    scenario(f, n);
    f->core.on_events = notify_on_events; /* back, for the teardown */
    assert_int_equal(nfx_count(f, NULL, NULL, 0, -1), 0);
    const struct notify_config *nc = notify_config_of(f->core.on_events_arg);
    size_t ins = 0;
    struct td_err err;
    /* A window that ends before the changes finds nothing... */
    assert_true(notify_reconcile(nc, f->st, NULL, td_now() + 60000, td_now(), &ins, &err));
    assert_int_equal(ins, 0);
    /* ...one that covers them finds every row the hook would have written. */
    assert_true(notify_reconcile(nc, f->st, NULL, t0, td_now(), &ins, &err));
    assert_int_equal(ins, 17);
    assert_int_equal(nfx_count(f, ACK, "cust1@example.org", n[0], -1), 1);
    assert_int_equal(nfx_count(f, ACK, "cust2@example.org", n[1], -1), 1);
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, n[0], -1), 3);
    assert_int_equal(nfx_count(f, AGENTS_NEW, NULL, n[1], -1), 2);
    assert_int_equal(nfx_count(f, TO_REQ, "cust1@example.org", n[0], -1), 1);
    /* "thanks" came while unassigned: everyone; "more" after the
     * assignment: agent2 only - the replay follows the history. */
    assert_int_equal(nfx_count(f, TO_AGENTS, NULL, n[0], -1), 4);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent2@example.com", n[0], -1), 2);
    assert_int_equal(nfx_count(f, ASSIGNED, "agent2@example.com", n[0], -1), 1);
    assert_int_equal(nfx_count(f, NOTE, "agent2@example.com", n[0], -1), 1);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent1@example.com", n[1], -1), 1);
    assert_int_equal(nfx_count(f, RESOLVED, "cust1@example.org", n[0], -1), 1);
    assert_int_equal(nfx_count(f, CLOSED, "cust2@example.org", n[1], -1), 1);
    /* And a second replay adds nothing. */
    assert_true(notify_reconcile(nc, f->st, NULL, t0, td_now(), &ins, &err));
    assert_int_equal(ins, 0);
}

/* A pass with the hook's memory (notify_planned.h) does not plan again
 * what the hook planned - not even rows that have since gone - and still
 * plans, whole, a ticket with a change the hook missed. */
static void replay_skips_what_the_hook_planned(void **state)
{
    struct nfx *f = *state;
    int64_t n[2];
    td_time t0 = td_now();
    scenario(f, n);
    struct notify_planned *planned = notify_planned_of(notify_of(&f->core));
    const struct notify_config *nc = notify_config_of(notify_of(&f->core));
    assert_non_null(planned);
    /* cust1's rows go: erased (failed), then purged. */
    struct td_err err;
    int64_t erased = 0;
    assert_true(f->st->ops->outbox_erase_recipient(f->st, "cust1@example.org", "gone@invalid",
                                                   &erased, &err));
    assert_int_equal(erased, 3); /* the acknowledgement, the answer, resolved */
    assert_true(f->st->ops->outbox_purge(f->st, td_now() + 1000, 0, NULL, &err));
    size_t rows = nfx_count(f, NULL, NULL, 0, -1);
    size_t ins = 99;
    assert_true(notify_reconcile(nc, f->st, planned, t0, td_now(), &ins, &err));
    assert_int_equal(ins, 0);
    assert_int_equal(nfx_count(f, NULL, NULL, 0, -1), rows);
    /* A reply the hook never saw: its ticket is planned again, all of it
     * (the purged rows come back), the other ticket is not. */
    f->core.on_events = NULL;
    nfx_comment(f, &f->agent2, n[0], "lost", false);
    f->core.on_events = notify_on_events;
    assert_true(notify_reconcile(nc, f->st, planned, t0, td_now(), &ins, &err));
    assert_int_equal(ins, 3 + 1);
    assert_int_equal(nfx_count(f, TO_REQ, "cust1@example.org", n[0], -1), 2);
    /* What that pass planned, the next one skips. */
    assert_true(notify_reconcile(nc, f->st, planned, t0, td_now(), &ins, &err));
    assert_int_equal(ins, 0);
}

static void loop_guard(void **state)
{
    struct nfx *f = *state; /* max_per_recipient_hour = 3 */
    for (int i = 0; i < 5; i++)
        nfx_open(f, &f->cust1, NULL, "Again", "and again");
    assert_int_equal(nfx_count(f, ACK, "cust1@example.org", 0, OUTBOX_PENDING), 3);
    assert_int_equal(nfx_count(f, ACK, "cust1@example.org", 0, OUTBOX_FAILED), 2);
    /* Agent notices have their own cap (max_per_agent_hour = 4). */
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent1@example.com", 0, OUTBOX_PENDING), 4);
    assert_int_equal(nfx_count(f, AGENTS_NEW, "agent1@example.com", 0, OUTBOX_FAILED), 1);
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    bool seen = false;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].state == OUTBOX_FAILED) {
            assert_non_null(strstr(l.v[i].last_error, "loop guard"));
            seen = true;
        }
    outbox_list_clear(&l);
    assert_true(seen);
    /* Suppressed rows are not re-planned by the replay. */
    size_t ins = 99;
    struct td_err err;
    assert_true(notify_reconcile(notify_config_of(notify_of(&f->core)), f->st, NULL, 0, td_now(), &ins, &err));
    assert_int_equal(ins, 0);

    /* Never to the support address (or a +tag of it), nor to bounces. */
    struct td_user sup, daemon, tagged;
    nfx_user(f, "Support@Example.com", NULL, ROLE_CUSTOMER, &sup);
    nfx_user(f, "MAILER-DAEMON@mx.example.org", NULL, ROLE_CUSTOMER, &daemon);
    nfx_user(f, "support+x1@example.com", NULL, ROLE_CUSTOMER, &tagged);
    int64_t a = nfx_open(f, &sup, NULL, "loop?", "x");
    int64_t b = nfx_open(f, &daemon, NULL, "Undeliverable", "x");
    int64_t c = nfx_open(f, &tagged, NULL, "loop!", "x");
    assert_int_equal(nfx_count(f, ACK, NULL, a, -1), 0);
    assert_int_equal(nfx_count(f, ACK, NULL, b, -1), 0);
    assert_int_equal(nfx_count(f, ACK, NULL, c, -1), 0);
    user_clear(&sup);
    user_clear(&daemon);
    user_clear(&tagged);
}

static void addresses_blocked(void **state)
{
    struct nfx *f = *state;
    const struct notify_config *nc = notify_config_of(notify_of(&f->core));
    const char *blocked[] = { "support@example.com", "SUPPORT@EXAMPLE.COM", "support+abc@example.com",
                              "mailer-daemon@x.org", "postmaster@x.org", "no-reply@x.org",
                              "noreply+z@x.org", "owner-list@x.org", "list-request@x.org", "", "nodomain" };
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
        if (!notify_address_blocked(nc, blocked[i]))
            fail_msg("%s should be blocked", blocked[i]);
    const char *fine[] = { "support@example.org", "supporter@example.com", "ann@example.com",
                           "support@sub.example.com", "postmaster.joe@x.org" };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        if (notify_address_blocked(nc, fine[i]))
            fail_msg("%s should not be blocked", fine[i]);
}

static void row_ids_are_deterministic(void **state)
{
    (void)state;
    struct td_event e = { .ticket = 5, .kind = EVENT_COMMENT, .at = 1000,
                          .old_value = (char *)"public", .new_value = (char *)"abc" };
    char a[TD_ID_LEN + 1], b[TD_ID_LEN + 1];
    notify_row_id(&e, "u1", NK_REPLY_TO_AGENTS, a);
    notify_row_id(&e, "u1", NK_REPLY_TO_AGENTS, b);
    assert_string_equal(a, b);
    assert_true(id_valid(a));
    notify_row_id(&e, "u2", NK_REPLY_TO_AGENTS, b);
    assert_string_not_equal(a, b);
    notify_row_id(&e, "u1", NK_INTERNAL_NOTE, b);
    assert_string_not_equal(a, b);
    e.at = 1001;
    notify_row_id(&e, "u1", NK_REPLY_TO_AGENTS, b);
    assert_string_not_equal(a, b);
    e.at = 1000;
    e.old_value = NULL; /* NULL and "" differ from "public" and from each other */
    notify_row_id(&e, "u1", NK_REPLY_TO_AGENTS, b);
    assert_string_not_equal(a, b);
    char c[TD_ID_LEN + 1];
    e.old_value = (char *)"";
    notify_row_id(&e, "u1", NK_REPLY_TO_AGENTS, c);
    assert_string_not_equal(b, c);
}

static int setup_quiet(void **state)
{
    nfx_extra_config = "ticket_created_agents = yes\nnotify_admins = no\nreply_to_requester = no\n";
    return nfx_setup(state);
}

static int setup_capped(void **state)
{
    nfx_extra_config = "max_per_recipient_hour = 3\nmax_per_agent_hour = 4\n";
    return nfx_setup(state);
}

static void config_errors(void **state)
{
    (void)state;
    const struct { const char *text, *needle; } cases[] = {
        { "[notify]\nsupport_address = not an address\n", "support_address" },
        { "[notify]\nsupport_address = a@b.c\nticket_created_ack = maybe\n", "ticket_created_ack" },
        { "[notify]\nsupport_address = a@b.c\nmax_per_recipient_hour = -1\n", "max_per_recipient_hour" },
        { "[notify]\nsupport_address = a@b.c\nticket_url = http://x/ y\n", "ticket_url" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct td_config *cfg;
        struct td_err err;
        struct notify_config nc;
        assert_true(config_load_string(cases[i].text, &cfg, &err));
        assert_false(notify_config_load(cfg, &nc, &err));
        if (strstr(err.msg, cases[i].needle) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
        config_free(cfg);
    }
    /* No support address: notifications off, no hook. */
    struct td_config *cfg;
    struct td_err err;
    struct td_core c;
    core_defaults(&c, NULL);
    assert_true(config_load_string("[notify]\nticket_created_ack = no\n", &cfg, &err));
    assert_true(notify_attach(cfg, &c, &err));
    assert_null(c.on_events);
    assert_null(notify_of(&c));
    notify_detach(&c);
    config_free(cfg);
}

/* Issue 10: everyone in the conversation, each with a row of their own;
 * the footer's status is the one after the reply moved it. */
static void participants_hear_everything(void **state)
{
    struct nfx *f = *state;
    struct td_err err;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Shared", "For both of us");
    struct strv ids = STRV_INIT;
    strv_push(&ids, f->cust2.id);
    strv_push(&ids, f->agent2.id); /* an agent following the ticket */
    assert_true(participant_add(&f->core, &f->cust1, n, &ids, NULL, &err));
    strv_clear(&ids);
    /* The agent's first reply moves new -> open; each customer gets it. */
    nfx_comment(f, &f->agent1, n, "On it.", false);
    assert_int_equal(nfx_count(f, TO_REQ, "cust1@example.org", n, -1), 1);
    assert_int_equal(nfx_count(f, TO_REQ, "cust2@example.org", n, -1), 1);
    assert_int_equal(nfx_count(f, TO_REQ, "agent2@example.com", n, -1), 0);
    assert_var(f, TO_REQ, "cust1@example.org", "status", "open");
    assert_var(f, TO_REQ, "cust2@example.org", "cc", "cust1@example.org");
    assert_var(f, TO_REQ, "cust1@example.org", "cc", "cust2@example.org");
    assert_var(f, TO_REQ, "cust1@example.org", "via", "Al Agent");
    /* The colleague answers: the requester hears it, agents too (the
     * following agent among them), the colleague not about their own. */
    nfx_comment(f, &f->cust2, n, "Me too.", false);
    assert_int_equal(nfx_count(f, TO_REQ, "cust1@example.org", n, -1), 2);
    assert_int_equal(nfx_count(f, TO_REQ, "cust2@example.org", n, -1), 1);
    assert_int_equal(nfx_count(f, TO_AGENTS, "agent2@example.com", n, -1), 1);
    /* Status mails go to both customers. */
    nfx_status(f, &f->agent1, n, STATUS_RESOLVED);
    assert_int_equal(nfx_count(f, "status_resolved", "cust2@example.org", n, -1), 1);
    assert_int_equal(nfx_count(f, "status_resolved", "cust1@example.org", n, -1), 1);
}

static void rows_carry_the_files(void **state)
{
    struct nfx *f = *state;
    struct td_err err;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Files", "see below");
    static const unsigned char pdf[] = "%PDF-1.4";
    struct attachment_in atts[2] = {
        { "manual.pdf", "application/pdf", pdf, sizeof pdf - 1, false },
        { "full-message.txt", "text/plain", pdf, sizeof pdf - 1, false },
    };
    struct comment_new in = { .body = "Attached.", .source = SOURCE_EMAIL,
                              .attachments = atts, .n_attachments = 2 };
    assert_true(comment_add(&f->core, &f->agent1, n, &in, NULL, &err));
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    bool seen = false;
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].kind, TO_REQ) != 0)
            continue;
        json_t *root = json_loads(l.v[i].payload, 0, NULL);
        json_t *files = json_object_get(root, "attachments");
        /* the gateway's copy of the whole mail is no file anyone sent */
        assert_int_equal(json_array_size(files), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "name")),
                            "manual.pdf");
        json_decref(root);
        seen = true;
    }
    outbox_list_clear(&l);
    assert_true(seen);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, nfx_setup, nfx_teardown)
    const struct CMUnitTest tests[] = {
        T(customer_opens_ticket),
        T(agent_opens_for_customer),
        T(replies_go_to_the_other_side),
        T(internal_notes_stay_internal),
        T(status_notices),
        T(auto_submitted_mail_gets_no_ack),
        cmocka_unit_test_setup_teardown(rules_can_be_switched_off, setup_quiet, nfx_teardown),
        T(replay_after_the_hook_adds_nothing),
        T(replay_finds_what_a_crash_lost),
        T(replay_skips_what_the_hook_planned),
        cmocka_unit_test_setup_teardown(loop_guard, setup_capped, nfx_teardown),
        T(addresses_blocked),
        T(row_ids_are_deterministic),
        T(config_errors),
        T(participants_hear_everything),
        T(rows_carry_the_files),
    };
    return store_fixture_run_all("notify_plan", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

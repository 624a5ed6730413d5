/* test_sender_parallel.c - one sending thread has a mail in flight on
 * each of its [smtp] connections at once (smtp.h), on SQLite and on
 * MongoDB (sender_fixture.h). The SMTP server (tests/support/
 * smtp_reject.py --hold-rcpt) holds every answer to RCPT for a while and
 * writes down the most mails it held at once. (Not the answer to the
 * end of DATA: libcurl 7.88 waits for that one before it goes on with
 * the other transfers - smtp.h.) */
#include "tests/notify/sender_fixture.h"

enum { MAILS = 8, HOLD_MS = 300 };

/* The most mails the server held at once while one thread sent MAILS
 * mails over `connections`; every one must arrive. */
static int most_in_flight(struct nfx *f, int connections)
{
    char held_file[400];
    struct harness_server srv;
    memset(&srv, 0, sizeof srv);
    char dir[256];
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(held_file, sizeof held_file, "%s/held", dir);
    char hold[16];
    snprintf(hold, sizeof hold, "%d", HOLD_MS);
    const char *extra[] = { "--hold-rcpt", hold, "--held-file", held_file, NULL };
    srv = smtp_server_start(extra, false);
    for (int i = 0; i < MAILS; i++)
        nfx_open(f, &f->cust1, NULL, "All at once", "x");
    size_t rows = rows_in(f, -1);
    assert_int_equal(rows, MAILS);
    char conf[200];
    snprintf(conf, sizeof conf, "[notify]\nthreads = 1\npoll_ms = 30000\n[smtp]\nconnections = %d\n",
             connections);
    struct sender *s = make_sender(f, NULL, srv.uri, conf);
    struct td_err err;
    long long t0 = mono_ms();
    assert_true(sender_start(s, &err));
    long long deadline = t0 + 20000;
    while (rows_in(f, OUTBOX_SENT) < rows && mono_ms() < deadline)
        msleep(20);
    long long took = mono_ms() - t0;
    sender_free(s);
    assert_int_equal(rows_in(f, OUTBOX_SENT), rows);
    struct mc_box box;
    mc_box_read(srv.maildir, &box);
    assert_int_equal(box.n, MAILS);
    mc_box_free(&box);
    int most = 0;
    FILE *fp = fopen(held_file, "r");
    assert_non_null(fp);
    assert_int_equal(fscanf(fp, "%d", &most), 1);
    fclose(fp);
    print_message("%d connections: %d mails in %lld ms, at most %d at once\n", connections, MAILS,
                  took, most);
    harness_stop(&srv);
    harness_rmtree(dir);
    return most;
}

/* Four connections: four mails held at once, never more. One mail at a
 * time took MAILS * HOLD_MS; the claim of all eight comes first. */
static void mails_go_out_together(void **state)
{
    assert_int_equal(most_in_flight(*state, 4), 4);
}

/* One connection: one at a time, as a single SMTP session goes. */
static void one_connection_is_one_at_a_time(void **state)
{
    assert_int_equal(most_in_flight(*state, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TN(mails_go_out_together),
        TN(one_connection_is_one_at_a_time),
    };
    return sender_run("sender_parallel", tests, sizeof tests / sizeof tests[0]);
}

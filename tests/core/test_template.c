/* test_template.c - notification templates: loading, validation,
 * overrides, escaping per context, and the shipped set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/notify.h"
#include "core/template.h"
#include "tests/support/harness.h"

struct tfx {
    char dir[256];
    char over[300];
};

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    struct tfx *t = calloc(1, sizeof *t);
    if (!harness_tempdir(t->dir, sizeof t->dir))
        return -1;
    snprintf(t->over, sizeof t->over, "%s/override", t->dir);
    mkdir(t->over, 0755);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tfx *t = *state;
    harness_rmtree(t->dir);
    free(t);
    return 0;
}

static const char *const ONE[] = { "greeting" };

static bool load(struct tfx *t, struct template_set **ts, struct td_err *err)
{
    const char *dirs[] = { t->over, t->dir };
    return template_set_load(dirs, 2, ONE, 1, ts, err);
}

static void renders_variables(void **state)
{
    struct tfx *t = *state;
    write_file(t->dir, "greeting.txt",
               "Subject: [#{{ticket_number}}] {{ subject }}\r\n\r\nHello {{recipient}},\r\n{{body}}\r\n");
    struct template_set *ts;
    struct td_err err;
    assert_true(load(t, &ts, &err));
    const struct template_var vars[] = {
        { "ticket_number", "42" }, { "subject", "Printer \xf0\x9f\x94\xa5" },
        { "recipient", "Ann" },    { "body", "line 1\nline 2 with {{subject}}" },
    };
    struct template_output out;
    assert_true(template_render(ts, "greeting", vars, 4, &out, &err));
    assert_string_equal(out.subject, "[#42] Printer \xf0\x9f\x94\xa5");
    /* CRLF in the file became LF; values are not re-expanded. */
    assert_string_equal(out.text, "Hello Ann,\nline 1\nline 2 with {{subject}}\n");
    assert_null(out.html);
    template_output_clear(&out);
    assert_false(template_render(ts, "nope", vars, 4, &out, &err));
    assert_int_equal(err.code, TD_NOT_FOUND);
    template_set_free(ts);
}

static void unknown_variable_is_a_load_error(void **state)
{
    struct tfx *t = *state;
    struct template_set *ts;
    struct td_err err;
    write_file(t->dir, "greeting.txt", "Subject: hi\n\nline one\nDear {{custmer_name}}\n");
    assert_false(load(t, &ts, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_non_null(strstr(err.msg, "greeting.txt:4"));
    assert_non_null(strstr(err.msg, "unknown variable {{custmer_name}}"));
    write_file(t->dir, "greeting.txt", "Subject: {{oops}}\n\nbody\n");
    assert_false(load(t, &ts, &err));
    assert_non_null(strstr(err.msg, "greeting.txt:1"));
    write_file(t->dir, "greeting.txt", "Subject: hi\n\nbroken {{subject\n}}\n");
    assert_false(load(t, &ts, &err));
    assert_non_null(strstr(err.msg, "without '}}'"));
    write_file(t->dir, "greeting.html", "<p>{{bogus}}</p>");
    write_file(t->dir, "greeting.txt", "Subject: hi\n\nfine\n");
    assert_false(load(t, &ts, &err));
    assert_non_null(strstr(err.msg, "greeting.html:1"));
}

static void malformed_files(void **state)
{
    struct tfx *t = *state;
    struct template_set *ts;
    struct td_err err;
    const struct { const char *text, *needle; } cases[] = {
        { "no header part at all", "header part" },
        { "Subject: x\nno empty line", "header part" },
        { "From: evil@example.com\n\nbody\n", "unknown header" },
        { "Subject: a\nSubject: b\n\nbody\n", "twice" },
        { "\nbody only\n", "no Subject" },
        { "Subject: bad \xc3\x28 utf8\n\nbody\n", "UTF-8" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(t->dir, "greeting.txt", cases[i].text);
        assert_false(load(t, &ts, &err));
        assert_int_equal(err.code, TD_INVALID);
        if (strstr(err.msg, cases[i].needle) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
    }
    /* Missing altogether: names the file and where it looked. */
    const char *dirs[] = { t->over, t->dir };
    const char *const kinds[] = { "nothere" };
    assert_false(template_set_load(dirs, 2, kinds, 1, &ts, &err));
    assert_non_null(strstr(err.msg, "nothere.txt"));
    assert_non_null(strstr(err.msg, t->over));
}

static void override_directory_wins(void **state)
{
    struct tfx *t = *state;
    write_file(t->dir, "greeting.txt", "Subject: shipped\n\nshipped body\n");
    write_file(t->dir, "greeting.html", "<p>shipped html</p>\n");
    struct template_set *ts;
    struct td_err err;
    struct template_output out;
    assert_true(load(t, &ts, &err));
    assert_true(template_render(ts, "greeting", NULL, 0, &out, &err));
    assert_string_equal(out.subject, "shipped");
    assert_string_equal(out.html, "<p>shipped html</p>\n");
    template_output_clear(&out);
    template_set_free(ts);
    /* The override's .txt wins, and the .html comes from the same place
     * (none here), never mixed with the shipped one. */
    write_file(t->over, "greeting.txt", "Subject: ours\n\nour body\n");
    assert_true(load(t, &ts, &err));
    assert_true(template_render(ts, "greeting", NULL, 0, &out, &err));
    assert_string_equal(out.subject, "ours");
    assert_string_equal(out.text, "our body\n");
    assert_null(out.html);
    assert_non_null(strstr(template_set_path(ts, "greeting"), "override"));
    template_output_clear(&out);
    template_set_free(ts);
}

static void values_are_escaped_for_their_context(void **state)
{
    struct tfx *t = *state;
    write_file(t->dir, "greeting.txt", "Subject: Re: {{subject}} from {{author}}\n\n{{body}}\n");
    write_file(t->dir, "greeting.html", "<p title=\"{{subject}}\">{{body}}</p>\n");
    struct template_set *ts;
    struct td_err err;
    assert_true(load(t, &ts, &err));
    const struct template_var vars[] = {
        { "subject", "hi\r\nBcc: victim@example.com\r\n\r\nspam" },
        { "author", "\tEve\x7f\n" },
        { "body", "<script>alert('x')</script> & \"q\"\nnext\r\nline" },
    };
    struct template_output out;
    assert_true(template_render(ts, "greeting", vars, 3, &out, &err));
    /* No control character whatsoever reaches the subject. */
    for (const char *p = out.subject; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7F);
    assert_string_equal(out.subject, "Re: hi  Bcc: victim@example.com    spam from  Eve");
    assert_string_equal(out.text, "<script>alert('x')</script> & \"q\"\nnext\nline\n");
    assert_string_equal(out.html,
                        "<p title=\"hi<br>\nBcc: victim@example.com<br>\n<br>\nspam\">"
                        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;<br>\nnext<br>\nline</p>\n");
    template_output_clear(&out);
    template_set_free(ts);
}

static void shipped_templates_load(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/../../templates", harness_support_dir());
    const char *dirs[] = { dir };
    struct template_set *ts;
    struct td_err err;
    if (!template_set_load(dirs, 1, notify_kind_names, NK_COUNT, &ts, &err))
        fail_msg("shipped templates: %s", err.msg);
    /* Every one renders with every variable set, and names the ticket. */
    struct template_var vars[64];
    size_t n = 0;
    for (size_t i = 0; template_var_names[i] && n < 64; i++)
        vars[n++] = (struct template_var){ template_var_names[i], "7" };
    for (int k = 0; k < NK_COUNT; k++) {
        struct template_output out;
        assert_true(template_render(ts, notify_kind_names[k], vars, n, &out, &err));
        if (strstr(out.subject, "[#7]") == NULL)
            fail_msg("%s: subject '%s' lacks the ticket token", notify_kind_names[k], out.subject);
        template_output_clear(&out);
    }
    template_set_free(ts);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(renders_variables),
        T(unknown_variable_is_a_load_error),
        T(malformed_files),
        T(override_directory_wins),
        T(values_are_escaped_for_their_context),
        T(shipped_templates_load),
    };
    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}

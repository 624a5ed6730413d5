/* test_token_cache.c - api/token_cache.c: a token verified once is taken
 * from the cache by its exact bytes, its time claims are still checked on
 * every call, and nothing but the very same bytes ever hits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/token_cache.h"
#include "jwt_fixture.h"

#define NOW 1800000000

/* jwt_agent's access token issued at NOW (the caller frees it). */
static char *agent_token(const struct api_settings *s)
{
    struct td_user u = jwt_agent();
    char *tok = NULL;
    struct td_err err;
    if (!jwt_issue(s, &u, NOW, &tok, &err))
        fail_msg("jwt_issue: %s", err.msg);
    return tok;
}

static void test_second_use_is_a_hit(void **state)
{
    (void)state;
    struct api_settings s = jwt_settings();
    struct td_user u = jwt_agent();
    struct td_err err;
    char *tok = agent_token(&s);
    struct token_cache *c = token_cache_new();
    struct jwt_claims first, again;
    assert_true(token_cache_verify(c, &s, tok, NOW + 1, &first, &err));
    assert_int_equal(token_cache_hits(c), 0);
    assert_true(token_cache_verify(c, &s, tok, NOW + 2, &again, &err));
    assert_int_equal(token_cache_hits(c), 1);
    assert_string_equal(again.sub, u.id);
    assert_int_equal(again.role, ROLE_AGENT);
    assert_int_equal(again.ver, 42);
    assert_int_equal(again.exp, first.exp);
    assert_string_equal(again.jti, first.jti);
    token_cache_free(c);
    free(tok);
}

/* Expiry and not-before are the cache's business too: a kept token is
 * refused once its time is up, with the same reason as a fresh one. */
static void test_times_checked_on_a_hit(void **state)
{
    (void)state;
    struct api_settings s = jwt_settings();
    struct td_err err;
    char *tok = agent_token(&s);
    struct token_cache *c = token_cache_new();
    struct jwt_claims cl;
    assert_true(token_cache_verify(c, &s, tok, NOW, &cl, &err));
    assert_false(token_cache_verify(c, &s, tok, NOW + 900 + 30, &cl, &err));
    assert_int_equal(err.code, TD_UNAUTHORIZED);
    assert_string_equal(err.msg, "token expired");
    assert_false(token_cache_verify(c, &s, tok, NOW - 31, &cl, &err));
    assert_string_equal(err.msg, "token not yet valid");
    assert_int_equal(token_cache_hits(c), 2);
    assert_true(token_cache_verify(c, &s, tok, NOW + 900 + 29, &cl, &err));
    token_cache_free(c);
    free(tok);
}

/* Once a token is kept, every single-character change of it is still
 * refused: only identical bytes hit, and failures are never kept. */
static void test_altered_tokens_never_hit(void **state)
{
    (void)state;
    struct api_settings s = jwt_settings();
    struct td_err err;
    char *tok = agent_token(&s);
    struct token_cache *c = token_cache_new();
    struct jwt_claims cl;
    assert_true(token_cache_verify(c, &s, tok, NOW, &cl, &err));
    size_t len = strlen(tok);
    int accepted = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        char saved = tok[i];
        tok[i] = saved == 'A' ? 'B' : (saved == '.' ? 'x' : 'A');
        accepted += token_cache_verify(c, &s, tok, NOW, &cl, &err);
        accepted += token_cache_verify(c, &s, tok, NOW, &cl, &err); /* not kept either */
        tok[i] = saved;
    }
    assert_int_equal(accepted, 0);
    assert_int_equal(token_cache_hits(c), 0);
    /* A token longer by one character is another token. */
    size_t n = len + 2;
    char *longer = malloc(n);
    snprintf(longer, n, "%sA", tok);
    assert_false(token_cache_verify(c, &s, longer, NOW, &cl, &err));
    free(longer);
    assert_true(token_cache_verify(c, &s, tok, NOW, &cl, &err));
    assert_int_equal(token_cache_hits(c), 1);
    token_cache_free(c);
    free(tok);
}

/* Many tokens (more than the slots): each verifies, right claims, with
 * collisions only costing a full verification. */
static void test_many_tokens(void **state)
{
    (void)state;
    struct api_settings s = jwt_settings();
    struct token_cache *c = token_cache_new();
    enum { N = TOKEN_CACHE_SLOTS * 2 };
    char **toks = calloc(N, sizeof *toks);
    struct td_err err;
    for (int i = 0; i < N; i++) {
        struct td_user u = jwt_agent();
        u.token_version = i;
        assert_true(jwt_issue(&s, &u, NOW, &toks[i], &err));
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++) {
            struct jwt_claims cl;
            assert_true(token_cache_verify(c, &s, toks[i], NOW, &cl, &err));
            assert_int_equal(cl.ver, i);
        }
    assert_true(token_cache_hits(c) > 0);
    for (int i = 0; i < N; i++)
        free(toks[i]);
    free(toks);
    token_cache_free(c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_use_is_a_hit),
        cmocka_unit_test(test_times_checked_on_a_hit),
        cmocka_unit_test(test_altered_tokens_never_hit),
        cmocka_unit_test(test_many_tokens),
    };
    return cmocka_run_group_tests_name("token_cache", tests, NULL, NULL);
}

/* jwt_fixture.h - HS256 API settings and an agent for JWT unit tests
 * (test_api_units.c, test_token_cache.c). */
#ifndef TD_TEST_JWT_FIXTURE_H
#define TD_TEST_JWT_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/model.h"

static inline struct api_settings jwt_settings(void)
{
    struct api_settings s;
    memset(&s, 0, sizeof s);
    s.jwt_secret = (unsigned char *)"0123456789abcdef0123456789abcdef!";
    s.jwt_secret_len = 33;
    s.issuer = (char *)"ticketd";
    s.audience = (char *)"ticketd-api";
    s.access_ttl_s = 900;
    s.clock_leeway_s = 30;
    return s;
}

/* An agent with token_version 42. */
static inline struct td_user jwt_agent(void)
{
    struct td_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "0123456789abcdef01234567");
    u.role = ROLE_AGENT;
    u.token_version = 42;
    return u;
}

#endif

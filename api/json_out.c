/* json_out.c - the JSON shape of users, tickets, comments and history
 * events (documented in api/openapi.json, components/schemas).
 *
 * Times are RFC 3339 UTC strings with milliseconds. Absent ids are null,
 * never "". A password hash never leaves the server: a user says only
 * whether it has a password. Strings come from core, which validated
 * them as UTF-8; jstr() still repairs anything else rather than drop a
 * member silently (jansson refuses invalid UTF-8). */
#include "api_int.h"

#include "core/id.h"
#include "core/text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static json_t *jstr(const char *s)
{
    if (s == NULL)
        return json_null();
    size_t len = strlen(s);
    if (utf8_valid(s, len))
        return json_stringn(s, len);
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        /* Keep ASCII, replace every other byte: crude, but it only ever
         * runs on data that bypassed core's validation. */
        if ((unsigned char)s[i] < 0x80)
            buf_putc(&b, s[i]);
        else
            buf_puts(&b, "\xEF\xBF\xBD");
    }
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    buf_free(&b);
    return j;
}

static json_t *jid(const char *id)
{
    return id == NULL || id[0] == '\0' ? json_null() : jstr(id);
}

json_t *json_time(td_time t)
{
    time_t secs = (time_t)(t / 1000);
    int ms = (int)(t % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    char out[64];
    if (gmtime_r(&secs, &tm) == NULL)
        return json_null();
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return json_string(out);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool time_parse_rfc3339(const char *s, td_time *out)
{
    int Y, M, D, h, m, sec;
    if (s == NULL || strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' ||
        !digits(s + 5, 2, &M) || s[7] != '-' || !digits(s + 8, 2, &D) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &m) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                ms = ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return false;
        for (int i = n; i < 3; i++)
            ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    struct tm tm = { 0 };
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != D) /* 2026-02-31 normalises to March */
        return false;
    *out = ((td_time)t - (td_time)offset_min * 60) * 1000 + ms;
    return true;
}

json_t *json_user(const struct td_user *u)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", jstr(u->id));
    json_object_set_new(j, "email", jstr(u->email));
    json_object_set_new(j, "name", jstr(u->name ? u->name : ""));
    json_object_set_new(j, "role", json_string(role_name(u->role)));
    json_object_set_new(j, "disabled", json_boolean(u->disabled));
    if (u->role == ROLE_AGENT) /* seeing only their groups' tickets (core/scope.h) */
        json_object_set_new(j, "restricted", json_boolean(u->restricted));
    json_object_set_new(j, "has_password", json_boolean(u->pw_hash != NULL));
    json_object_set_new(j, "created", json_time(u->created));
    json_object_set_new(j, "updated", json_time(u->updated));
    return j;
}

json_t *json_user_brief(const struct td_user *u)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", jstr(u->id));
    json_object_set_new(j, "email", jstr(u->email));
    json_object_set_new(j, "name", jstr(u->name ? u->name : ""));
    json_object_set_new(j, "role", json_string(role_name(u->role)));
    return j;
}

/* A time, or null for 0 (not set). */
static json_t *json_time_or_null(td_time t)
{
    return t > 0 ? json_time(t) : json_null();
}

/* The ticket's SLA state (core/sla.h) as of now; null without a policy. */
static json_t *json_ticket_sla(const struct td_ticket *t, td_time now)
{
    const struct td_sla *s = &t->sla;
    if (s->first_response_due == 0 && s->resolution_due == 0)
        return json_null(); /* no policy */
    json_t *j = json_object();
    json_object_set_new(j, "first_response_due", json_time_or_null(s->first_response_due));
    json_object_set_new(j, "first_responded", json_time_or_null(s->first_responded));
    json_object_set_new(j, "resolution_due", json_time_or_null(s->resolution_due));
    json_object_set_new(j, "resolved", json_time_or_null(s->resolved));
    json_object_set_new(j, "paused", json_boolean(s->paused_since > 0 || t->status == STATUS_PENDING));
    json_object_set_new(j, "next_due", json_time_or_null(s->next_due));
    json_object_set_new(j, "overdue", json_boolean(s->next_due > 0 && s->next_due <= now));
    return j;
}

json_t *json_ticket(const struct td_ticket *t, enum td_role viewer)
{
    json_t *j = json_object();
    json_object_set_new(j, "number", json_integer(t->number));
    json_object_set_new(j, "subject", jstr(t->subject ? t->subject : ""));
    json_object_set_new(j, "status", json_string(status_name(t->status)));
    json_object_set_new(j, "priority", json_string(priority_name(t->priority)));
    json_object_set_new(j, "requester_id", jid(t->requester_id));
    json_object_set_new(j, "assignee_id", jid(t->assignee_id));
    json_object_set_new(j, "queue", jstr(t->queue ? t->queue : ""));
    json_t *tags = json_array();
    for (size_t i = 0; i < t->tags.n; i++)
        json_array_append_new(tags, jstr(t->tags.v[i]));
    json_object_set_new(j, "tags", tags);
    json_t *parts = json_array();
    for (size_t i = 0; i < t->participants.n; i++)
        json_array_append_new(parts, jstr(t->participants.v[i]));
    json_object_set_new(j, "participant_ids", parts);
    /* A merged ticket says where its conversation went. */
    json_object_set_new(j, "merged_into", t->merged_into > 0 ? json_integer(t->merged_into) : json_null());
    json_object_set_new(j, "sla", viewer == ROLE_CUSTOMER ? json_null() : json_ticket_sla(t, td_now()));
    json_object_set_new(j, "created", json_time(t->created));
    json_object_set_new(j, "updated", json_time(t->updated));
    json_object_set_new(j, "version", json_integer(t->version));
    return j;
}

json_t *json_comment(const struct td_comment *c)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", jstr(c->id));
    json_object_set_new(j, "ticket", json_integer(c->ticket));
    json_object_set_new(j, "author_id", jid(c->author_id));
    json_object_set_new(j, "internal", json_boolean(c->internal));
    json_object_set_new(j, "source", json_string(source_name(c->source)));
    json_object_set_new(j, "body", jstr(c->body ? c->body : ""));
    json_t *atts = json_array();
    for (size_t i = 0; i < c->n_attachments; i++) {
        const struct td_attachment_ref *a = &c->attachments[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", jstr(a->id));
        json_object_set_new(o, "name", jstr(a->name ? a->name : ""));
        json_object_set_new(o, "content_type",
                            jstr(a->content_type ? a->content_type : "application/octet-stream"));
        json_object_set_new(o, "size", json_integer((json_int_t)a->size));
        char url[80];
        snprintf(url, sizeof url, "/api/v1/attachments/%s", a->id);
        json_object_set_new(o, "url", json_string(url));
        json_array_append_new(atts, o);
    }
    json_object_set_new(j, "attachments", atts);
    json_object_set_new(j, "created", json_time(c->created));
    return j;
}

json_t *json_event(const struct td_event *e)
{
    json_t *j = json_object();
    json_object_set_new(j, "seq", json_integer(e->seq));
    json_object_set_new(j, "kind", json_string(event_kind_name(e->kind)));
    json_object_set_new(j, "actor_id", jid(e->actor_id));
    json_object_set_new(j, "old", jstr(e->old_value));
    json_object_set_new(j, "new", jstr(e->new_value));
    json_object_set_new(j, "at", json_time(e->at));
    /* Events naming another ticket link to it. */
    const char *other = e->kind == EVENT_RELATED_MAIL || e->kind == EVENT_MERGED_INTO ? e->new_value
                        : e->kind == EVENT_MERGED_FROM ? e->old_value : NULL;
    if (other) {
        char url[64];
        snprintf(url, sizeof url, "/api/v1/tickets/%.20s", other);
        json_object_set_new(j, "link", json_string(url));
    }
    return j;
}

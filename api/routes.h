/* routes.h - the request handlers, one per row of the route table
 * (router.c), each in the routes_*.c file of its resource. Included by
 * api_int.h after the request and response types. */
#ifndef TD_API_ROUTES_H
#define TD_API_ROUTES_H

void h_healthz(struct api_req *r, struct api_resp *out);
void h_openapi(struct api_req *r, struct api_resp *out);
void h_metrics(struct api_req *r, struct api_resp *out);
void h_readyz(struct api_req *r, struct api_resp *out);

void h_register(struct api_req *r, struct api_resp *out);
void h_register_confirm(struct api_req *r, struct api_resp *out);
void h_login(struct api_req *r, struct api_resp *out);
void h_refresh(struct api_req *r, struct api_resp *out);
void h_logout(struct api_req *r, struct api_resp *out);
void h_me(struct api_req *r, struct api_resp *out);
void h_events(struct api_req *r, struct api_resp *out); /* events.c */
void h_cookie_login(struct api_req *r, struct api_resp *out);   /* routes_session.c */
void h_cookie_refresh(struct api_req *r, struct api_resp *out);
void h_cookie_logout(struct api_req *r, struct api_resp *out);
void h_claim(struct api_req *r, struct api_resp *out);
void h_claim_confirm(struct api_req *r, struct api_resp *out);
void h_reset(struct api_req *r, struct api_resp *out); /* routes_reset.c */
void h_reset_confirm(struct api_req *r, struct api_resp *out);

void h_tickets_list(struct api_req *r, struct api_resp *out);
void h_tickets_create(struct api_req *r, struct api_resp *out);
void h_ticket_get(struct api_req *r, struct api_resp *out);
void h_ticket_patch(struct api_req *r, struct api_resp *out);
void h_ticket_claim(struct api_req *r, struct api_resp *out);
void h_ticket_assign(struct api_req *r, struct api_resp *out);
void h_ticket_history(struct api_req *r, struct api_resp *out);

void h_ticket_merge(struct api_req *r, struct api_resp *out);          /* routes_merge.c */
void h_participants_list(struct api_req *r, struct api_resp *out);     /* routes_participants.c */
void h_participants_add(struct api_req *r, struct api_resp *out);
void h_participants_remove(struct api_req *r, struct api_resp *out);

void h_comments_list(struct api_req *r, struct api_resp *out);
void h_comments_create(struct api_req *r, struct api_resp *out);
void h_attachment_get(struct api_req *r, struct api_resp *out);

void h_quarantine_list(struct api_req *r, struct api_resp *out); /* routes_quarantine.c */
void h_quarantine_get(struct api_req *r, struct api_resp *out);
void h_quarantine_raw(struct api_req *r, struct api_resp *out);
void h_quarantine_retry(struct api_req *r, struct api_resp *out);
void h_quarantine_delete(struct api_req *r, struct api_resp *out);
void h_tokens_list(struct api_req *r, struct api_resp *out);   /* routes_tokens.c */
void h_tokens_create(struct api_req *r, struct api_resp *out);
void h_token_revoke(struct api_req *r, struct api_resp *out);

void h_webhooks_list(struct api_req *r, struct api_resp *out);   /* routes_webhooks.c */
void h_webhooks_create(struct api_req *r, struct api_resp *out);
void h_webhook_get(struct api_req *r, struct api_resp *out);
void h_webhook_patch(struct api_req *r, struct api_resp *out);
void h_webhook_delete(struct api_req *r, struct api_resp *out);
void h_webhook_deliveries(struct api_req *r, struct api_resp *out);
void h_webhook_test(struct api_req *r, struct api_resp *out);
void h_aliases_list(struct api_req *r, struct api_resp *out);          /* routes_aliases.c */
void h_aliases_add(struct api_req *r, struct api_resp *out);
void h_aliases_remove(struct api_req *r, struct api_resp *out);
void h_alias_confirm(struct api_req *r, struct api_resp *out);
/* routes_groups.c, routes_followers.c */
void h_groups_list(struct api_req *r, struct api_resp *out);
void h_groups_create(struct api_req *r, struct api_resp *out);
void h_group_get(struct api_req *r, struct api_resp *out);
void h_group_patch(struct api_req *r, struct api_resp *out);
void h_group_delete(struct api_req *r, struct api_resp *out);
void h_group_member_put(struct api_req *r, struct api_resp *out);
void h_group_member_delete(struct api_req *r, struct api_resp *out);
void h_followers_add(struct api_req *r, struct api_resp *out);
void h_followers_remove(struct api_req *r, struct api_resp *out);

void h_users_list(struct api_req *r, struct api_resp *out);
void h_users_create(struct api_req *r, struct api_resp *out);
void h_user_get(struct api_req *r, struct api_resp *out);
void h_user_patch(struct api_req *r, struct api_resp *out);
void h_user_erase(struct api_req *r, struct api_resp *out); /* routes_erase.c */

#endif

/* tls.h - HTTPS for the REST API: libmicrohttpd's GnuTLS, with the
 * certificate reloaded on SIGHUP without dropping the listener.
 *
 *   [api]
 *   tls_cert_file = /etc/ticketd/tls/fullchain.pem   # leaf first, then intermediates
 *   tls_key_file = /etc/ticketd/tls/privkey.pem
 *
 * Both or neither; neither is plain HTTP (behind a TLS proxy, or on
 * loopback). MHD 0.9.75 reads MHD_OPTION_HTTPS_MEM_CERT/KEY once, at
 * start; instead ticketd gives it MHD_OPTION_HTTPS_CERT_CALLBACK, which
 * GnuTLS calls on every handshake, and answers with the current
 * certificate. A reload (SIGHUP) loads the files into a new generation
 * and makes it current: new handshakes get the new certificate,
 * connections already open keep theirs, nothing is restarted. A reload
 * that fails (a missing file, a key that does not match) keeps the
 * running certificate and says why in the log. */
#ifndef TD_API_TLS_H
#define TD_API_TLS_H

#include <stdbool.h>

#include <microhttpd.h>

#include "core/config.h"
#include "core/err.h"

struct api_tls;

/* Reads [api] tls_cert_file/tls_key_file. *out is NULL when TLS is off;
 * otherwise the certificate is loaded and checked (the key must match). */
bool api_tls_load(struct td_config *cfg, struct api_tls **out, struct td_err *err);
/* Loads the files again; false (err filled) keeps the old certificate. */
bool api_tls_reload(struct api_tls *t, struct td_err *err);
/* The MHD options for t (NULL: none): MHD_OPTION_HTTPS_CERT_CALLBACK, or
 * just MHD_OPTION_END. Valid while t lives. */
const struct MHD_OptionItem *api_tls_mhd_options(const struct api_tls *t);
/* MHD_USE_TLS or 0. */
unsigned api_tls_mhd_flags(const struct api_tls *t);
/* After the daemon has stopped. NULL-safe. */
void api_tls_free(struct api_tls *t);

#endif

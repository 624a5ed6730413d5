/* imap_tls.c - certificate verification for libetpan's TLS streams.
 *
 * libetpan (built with GnuTLS on Debian) does not check certificates: it
 * encrypts to whoever answers. Without a check, anyone on the path can
 * present a certificate of their own and read the mailbox password. So
 * after the handshake the peer's chain is taken from the stream
 * (mailstream_get_certificate_chain, DER) and verified with GnuTLS
 * against the system trust store or a configured CA file, including the
 * host name. */
#include "imap.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>
#include <string.h>

#define MAX_CHAIN 16

bool imap_tls_verify(void *stream, const char *host, const char *ca_file, struct td_err *err)
{
    carray *chain = mailstream_get_certificate_chain((mailstream *)stream);
    if (chain == NULL || carray_count(chain) == 0) {
        if (chain)
            mailstream_certificate_chain_free(chain);
        return td_fail(err, TD_UNAVAILABLE, "TLS: the server sent no certificate");
    }
    gnutls_x509_crt_t certs[MAX_CHAIN];
    unsigned n = 0;
    bool ok = true;
    for (unsigned i = 0; i < carray_count(chain) && i < MAX_CHAIN && ok; i++) {
        MMAPString *der = carray_get(chain, i);
        gnutls_datum_t d = { (unsigned char *)der->str, (unsigned)der->len };
        if (gnutls_x509_crt_init(&certs[n]) < 0) {
            ok = false;
            break;
        }
        if (gnutls_x509_crt_import(certs[n], &d, GNUTLS_X509_FMT_DER) < 0) {
            gnutls_x509_crt_deinit(certs[n]);
            ok = false;
            break;
        }
        n++;
    }
    mailstream_certificate_chain_free(chain);
    gnutls_x509_trust_list_t list = NULL;
    unsigned status = 0;
    if (ok && gnutls_x509_trust_list_init(&list, 0) < 0)
        ok = false;
    if (ok) {
        int r = ca_file ? gnutls_x509_trust_list_add_trust_file(list, ca_file, NULL,
                                                                GNUTLS_X509_FMT_PEM, 0, 0)
                        : gnutls_x509_trust_list_add_system_trust(list, 0, 0);
        if (r <= 0) {
            td_fail(err, TD_UNAVAILABLE, "TLS: no trusted CA certificates in %s",
                    ca_file ? ca_file : "the system trust store");
            ok = false;
        }
    }
    if (ok) {
        gnutls_typed_vdata_st vdata = { GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)host, 0 };
        if (gnutls_x509_trust_list_verify_crt2(list, certs, n, &vdata, 1, 0, &status, NULL) < 0) {
            td_fail(err, TD_UNAVAILABLE, "TLS: the certificate could not be verified");
            ok = false;
        } else if (status != 0) {
            gnutls_datum_t out = { NULL, 0 };
            if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
                td_fail(err, TD_UNAVAILABLE, "TLS: certificate of %.100s rejected: %.120s", host,
                        (const char *)out.data);
                gnutls_free(out.data);
            } else {
                td_fail(err, TD_UNAVAILABLE, "TLS: certificate of %.100s rejected", host);
            }
            ok = false;
        }
    } else if (err && err->code == TD_OK) {
        td_fail(err, TD_UNAVAILABLE, "TLS: cannot read the server's certificate");
    }
    if (list)
        gnutls_x509_trust_list_deinit(list, 1);
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(certs[i]);
    return ok;
}

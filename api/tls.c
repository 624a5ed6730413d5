/* tls.c - see tls.h.
 *
 * GnuTLS calls the certificate callback with no user pointer, so the
 * current generation is one process-wide atomic pointer: one API server
 * per process (ticketd runs one). Generations are never freed while the
 * daemon runs, because a handshake in another thread may be using the
 * one it just got; they are freed together in api_tls_free() after
 * MHD_stop_daemon. A reload a month (certificate renewals) keeps a few
 * kilobytes each. */
#include "tls.h"

#include "core/log.h"
#include "core/mem.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define TLS_MAX_CHAIN 8

struct gen {
    gnutls_pcert_st pcert[TLS_MAX_CHAIN];
    unsigned n_pcert;
    gnutls_privkey_t key;
    struct gen *older;
};

struct api_tls {
    char *cert_file;
    char *key_file;
    struct gen *gens; /* newest first, all kept until free */
    pthread_mutex_t lock; /* reloads */
    struct MHD_OptionItem opts[2];
};

static _Atomic(struct gen *) current;

static int on_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                   gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    struct gen *g = atomic_load(&current);
    if (g == NULL)
        return -1;
    *pcert = g->pcert;
    *pcert_length = g->n_pcert;
    *pkey = g->key;
    return 0;
}

static void gen_free(struct gen *g)
{
    for (unsigned i = 0; i < g->n_pcert; i++)
        gnutls_pcert_deinit(&g->pcert[i]);
    if (g->key)
        gnutls_privkey_deinit(g->key);
    free(g);
}

/* The chain and the key from the files; checks that they belong together
 * by signing and verifying a probe with them. */
static bool gen_load(const char *cert_file, const char *key_file, struct gen **out, struct td_err *err)
{
    gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
    int rc;
    if ((rc = gnutls_load_file(cert_file, &cert)) < 0)
        return td_fail(err, TD_INVALID, "[api] tls_cert_file: cannot read %s: %s", cert_file,
                       gnutls_strerror(rc));
    if ((rc = gnutls_load_file(key_file, &key)) < 0) {
        gnutls_free(cert.data);
        return td_fail(err, TD_INVALID, "[api] tls_key_file: cannot read %s: %s", key_file,
                       gnutls_strerror(rc));
    }
    struct gen *g = td_calloc(1, sizeof *g);
    bool ok = true;
    unsigned n = TLS_MAX_CHAIN;
    rc = gnutls_pcert_list_import_x509_raw(g->pcert, &n, &cert, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0)
        ok = td_fail(err, TD_INVALID, "[api] tls_cert_file: %s: no PEM certificate chain (%s)", cert_file,
                     gnutls_strerror(rc));
    else
        g->n_pcert = n;
    if (ok && ((rc = gnutls_privkey_init(&g->key)) < 0 ||
               (rc = gnutls_privkey_import_x509_raw(g->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0))
        ok = td_fail(err, TD_INVALID, "[api] tls_key_file: %s: not a PEM private key (%s)", key_file,
                     gnutls_strerror(rc));
    if (ok) { /* the key must be the certificate's */
        gnutls_datum_t probe = { (unsigned char *)"ticketd tls key check", 21 }, sig = { NULL, 0 };
        int algo = gnutls_pubkey_get_pk_algorithm(g->pcert[0].pubkey, NULL);
        gnutls_sign_algorithm_t sa = gnutls_pk_to_sign((gnutls_pk_algorithm_t)algo, GNUTLS_DIG_SHA256);
        rc = gnutls_privkey_sign_data(g->key, GNUTLS_DIG_SHA256, 0, &probe, &sig);
        if (rc >= 0)
            rc = gnutls_pubkey_verify_data2(g->pcert[0].pubkey, sa, 0, &probe, &sig);
        gnutls_free(sig.data);
        if (rc < 0)
            ok = td_fail(err, TD_INVALID, "[api] tls_key_file: %s is not the key of the certificate in %s",
                         key_file, cert_file);
    }
    gnutls_memset(key.data, 0, key.size);
    gnutls_free(key.data);
    gnutls_free(cert.data);
    if (!ok) {
        gen_free(g);
        return false;
    }
    *out = g;
    return true;
}

bool api_tls_load(struct td_config *cfg, struct api_tls **out, struct td_err *err)
{
    *out = NULL;
    const char *cert = config_str(cfg, "api", "tls_cert_file", "");
    const char *key = config_str(cfg, "api", "tls_key_file", "");
    if (!cert[0] && !key[0])
        return true;
    if (!cert[0] || !key[0])
        return td_fail(err, TD_INVALID, "[api] tls_cert_file and tls_key_file go together: set both or neither");
    struct gen *g = NULL;
    if (!gen_load(cert, key, &g, err))
        return false;
    struct api_tls *t = td_calloc(1, sizeof *t);
    t->cert_file = td_strdup(cert);
    t->key_file = td_strdup(key);
    t->gens = g;
    pthread_mutex_init(&t->lock, NULL);
    t->opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)on_cert };
    t->opts[1] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    *out = t;
    return true;
}

bool api_tls_reload(struct api_tls *t, struct td_err *err)
{
    if (t == NULL)
        return true;
    struct gen *g = NULL;
    if (!gen_load(t->cert_file, t->key_file, &g, err))
        return false;
    pthread_mutex_lock(&t->lock);
    g->older = t->gens;
    t->gens = g;
    atomic_store(&current, g);
    pthread_mutex_unlock(&t->lock);
    return true;
}

const struct MHD_OptionItem *api_tls_mhd_options(const struct api_tls *t)
{
    static const struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
    if (t == NULL)
        return none;
    atomic_store(&current, t->gens); /* the daemon is about to start with t */
    return t->opts;
}

unsigned api_tls_mhd_flags(const struct api_tls *t)
{
    return t ? MHD_USE_TLS : 0;
}

void api_tls_free(struct api_tls *t)
{
    if (t == NULL)
        return;
    struct gen *expect = t->gens;
    for (struct gen *g = t->gens; g; g = expect) {
        expect = g->older;
        if (atomic_load(&current) == g)
            atomic_store(&current, NULL);
        gen_free(g);
    }
    pthread_mutex_destroy(&t->lock);
    free(t->cert_file);
    free(t->key_file);
    free(t);
}

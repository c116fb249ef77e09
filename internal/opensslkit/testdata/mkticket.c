/*
 * mkticket runs one TLS 1.2 handshake in memory, over a BIO pair, between an
 * OpenSSL client and an OpenSSL server whose session tickets are sealed
 * under a given key, and prints the client's ticket and the session's
 * secrets, for the tests of package legacy. It needs OpenSSL 3.0 or later
 * (libssl-dev): cc -o mkticket mkticket.c -lssl -lcrypto
 *
 * Usage: mkticket <mode> <hex key> <cipher list> [options]
 *
 *   keys   SSL_CTX_set_tlsext_ticket_keys with an 80-byte key,
 *          name16 | hmac32 | aes32: OpenSSL's own AES-256-CBC tickets
 *   cb128  SSL_CTX_set_tlsext_ticket_key_evp_cb with a 48-byte key,
 *          name16 | aes16 | hmac16 (nginx's layout): AES-128-CBC
 *   cb256  the callback with an 80-byte key, name16 | hmac32 | aes32
 *          (nginx's layout): AES-256-CBC
 *
 * options is a comma-separated list of: noems (the client refuses the
 * extended master secret), clientcert (the client presents a certificate,
 * which the server stores in the session), alpn (the client offers "h2" and
 * the server selects it), sessout=PATH (the client's session, ticket
 * included, is written to PATH in PEM, as openssl s_client -sess_out does).
 *
 * Output, one "name value" per line: ticket, master (hex), cipher (the
 * 16-bit suite in hex), version (hex), time and timeout (seconds), ems (0
 * or 1), sni (the server name stored in the server's session), alpn (the
 * protocol stored in the server's session, if any).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static unsigned char key[80];
static size_t key_len;
static unsigned char *key_name = key, *aes_key, *hmac_key;
static size_t aes_len, hmac_len;

static void die(const char *what) {
    fprintf(stderr, "mkticket: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void print_hex(const char *label, const unsigned char *b, size_t n) {
    printf("%s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static int ticket_cb(SSL *s, unsigned char *name, unsigned char *iv,
                     EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc) {
    (void)s;
    const EVP_CIPHER *c = aes_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, hmac_key, hmac_len),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!enc) {
        if (memcmp(name, key_name, 16) != 0)
            return 0;
        if (!EVP_MAC_CTX_set_params(hctx, params) ||
            !EVP_DecryptInit_ex(ectx, c, NULL, aes_key, iv))
            return -1;
        return 1;
    }
    memcpy(name, key_name, 16);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(c)) != 1 ||
        !EVP_EncryptInit_ex(ectx, c, NULL, aes_key, iv) ||
        !EVP_MAC_CTX_set_params(hctx, params))
        return -1;
    return 1;
}

/* sni_cb accepts the client's server name, as nginx's does, so that
 * OpenSSL stores it in the session. */
static int sni_cb(SSL *s, int *alert, void *arg) {
    (void)s, (void)alert, (void)arg;
    return SSL_TLSEXT_ERR_OK;
}

static void self_signed(SSL_CTX *ctx) {
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (pkey == NULL || x == NULL)
        die("key generation failed");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"tlsticket.test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    if (!X509_sign(x, pkey, EVP_sha256()) || !SSL_CTX_use_certificate(ctx, x) ||
        !SSL_CTX_use_PrivateKey(ctx, pkey))
        die("certificate setup failed");
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static int accept_any(int ok, X509_STORE_CTX *ctx) {
    (void)ok, (void)ctx;
    return 1;
}

static int select_h2(SSL *s, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg) {
    (void)s, (void)arg;
    static const unsigned char h2[] = "h2";
    for (unsigned int i = 0; i + 1 <= inlen; i += 1 + in[i])
        if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, h2, 2) == 0) {
            *out = in + i + 1, *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
    return SSL_TLSEXT_ERR_NOACK;
}

/* option_value returns the value of name=VALUE in the comma-separated opts,
 * copied into buf, or NULL. */
static const char *option_value(const char *opts, const char *name, char *buf, size_t n) {
    const char *p = strstr(opts, name);
    if (p == NULL)
        return NULL;
    p += strlen(name);
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= n)
        die("bad option value");
    memcpy(buf, p, len);
    buf[len] = 0;
    return buf;
}

static int step(SSL *ssl, int *done) {
    if (*done)
        return 1;
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        *done = 1;
        return 1;
    }
    int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5)
        die("usage: mkticket keys|cb128|cb256 <hex key> <cipher list> [noems,clientcert,alpn,sessout=PATH]");
    const char *opts = argc == 5 ? argv[4] : "";
    const char *mode = argv[1], *hexkey = argv[2];
    key_len = strlen(hexkey) / 2;
    if (strlen(hexkey) % 2 != 0 || key_len > sizeof key)
        die("bad key length");
    for (size_t i = 0; i < key_len; i++)
        if (sscanf(hexkey + 2 * i, "%2hhx", &key[i]) != 1)
            die("bad hex key");

    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    if (sctx == NULL || cctx == NULL)
        die("SSL_CTX_new failed");
    SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
    if (!SSL_CTX_set_cipher_list(sctx, argv[3]) || !SSL_CTX_set_cipher_list(cctx, argv[3]))
        die("bad cipher list");
    self_signed(sctx);
    SSL_CTX_set_tlsext_servername_callback(sctx, sni_cb);
    if (strstr(opts, "noems") != NULL)
        SSL_CTX_set_options(cctx, SSL_OP_NO_EXTENDED_MASTER_SECRET);
    if (strstr(opts, "alpn") != NULL) {
        if (SSL_CTX_set_alpn_protos(cctx, (const unsigned char *)"\x02h2", 3) != 0)
            die("SSL_CTX_set_alpn_protos failed");
        SSL_CTX_set_alpn_select_cb(sctx, select_h2, NULL);
    }
    if (strstr(opts, "clientcert") != NULL) {
        self_signed(cctx);
        SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER, accept_any);
    }

    if (strcmp(mode, "keys") == 0) {
        if (key_len != 80 || SSL_CTX_set_tlsext_ticket_keys(sctx, key, key_len) != 1)
            die("SSL_CTX_set_tlsext_ticket_keys failed (need 80 bytes)");
    } else if (strcmp(mode, "cb128") == 0 && key_len == 48) {
        aes_key = key + 16, aes_len = 16, hmac_key = key + 32, hmac_len = 16;
        SSL_CTX_set_tlsext_ticket_key_evp_cb(sctx, ticket_cb);
    } else if (strcmp(mode, "cb256") == 0 && key_len == 80) {
        hmac_key = key + 16, hmac_len = 32, aes_key = key + 48, aes_len = 32;
        SSL_CTX_set_tlsext_ticket_key_evp_cb(sctx, ticket_cb);
    } else {
        die("bad mode or key length");
    }

    SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
    BIO *sbio, *cbio;
    if (server == NULL || client == NULL || !BIO_new_bio_pair(&sbio, 0, &cbio, 0))
        die("SSL_new or BIO_new_bio_pair failed");
    SSL_set_bio(server, sbio, sbio);
    SSL_set_bio(client, cbio, cbio);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    SSL_set_tlsext_host_name(client, "tlsticket.test");

    int sdone = 0, cdone = 0;
    for (int i = 0; i < 100 && !(sdone && cdone); i++)
        if (!step(client, &cdone) || !step(server, &sdone))
            die("handshake failed");
    if (!(sdone && cdone))
        die("handshake did not finish");

    SSL_SESSION *cs = SSL_get1_session(client);
    SSL_SESSION *ss = SSL_get_session(server);
    const unsigned char *tick;
    size_t tick_len;
    SSL_SESSION_get0_ticket(cs, &tick, &tick_len);
    if (tick_len == 0)
        die("no ticket was issued");
    unsigned char master[64];
    size_t master_len = SSL_SESSION_get_master_key(cs, master, sizeof master);

    print_hex("ticket", tick, tick_len);
    print_hex("master", master, master_len);
    printf("cipher %04x\n", SSL_CIPHER_get_protocol_id(SSL_SESSION_get0_cipher(cs)));
    printf("version %04x\n", SSL_SESSION_get_protocol_version(cs));
    printf("time %lld\n", (long long)SSL_SESSION_get_time(ss));
    printf("timeout %lld\n", (long long)SSL_SESSION_get_timeout(ss));
    printf("ems %d\n", SSL_get_extms_support(server) == 1);
    const char *sni = SSL_SESSION_get0_hostname(ss);
    printf("sni %s\n", sni != NULL ? sni : "");
    const unsigned char *alpn;
    size_t alpn_len;
    SSL_SESSION_get0_alpn_selected(ss, &alpn, &alpn_len);
    if (alpn_len > 0)
        printf("alpn %.*s\n", (int)alpn_len, alpn);
    char path[4096];
    if (option_value(opts, "sessout=", path, sizeof path) != NULL) {
        FILE *f = fopen(path, "w");
        if (f == NULL || !PEM_write_SSL_SESSION(f, cs) || fclose(f) != 0)
            die("writing the session failed");
    }
    SSL_SESSION_free(cs);
    SSL_free(client);
    SSL_free(server);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return 0;
}

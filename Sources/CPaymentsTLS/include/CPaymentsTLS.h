// The system's OpenSSL 3 (libssl, libcrypto), for PaymentsTLS only, plus what Swift cannot call:
// the settings OpenSSL offers only as macros over SSL_CTX_ctrl/SSL_ctrl, and a few reads of its
// error codes and names.
#ifndef CPAYMENTSTLS_H
#define CPAYMENTSTLS_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stddef.h>

/// TLS 1.2 at least (1.3 allowed), partial writes from a buffer that may move between retries,
/// no renegotiation, and no passphrase prompt on the terminal for an encrypted key (it fails
/// instead). Returns 1, or 0 with the reason in OpenSSL's error queue.
int cpt_ctx_configure(SSL_CTX *ctx);

/// The name the server's certificate must match: an IP address literal is checked against the
/// certificate's IP entries; a DNS name against its DNS entries and sent as SNI (RFC 6066 allows
/// no IP address there). Returns 1, or 0 with the reason in OpenSSL's error queue.
int cpt_set_peer_name(SSL *ssl, const char *host);

/// 1 when `code` says the peer closed TCP without close_notify (OpenSSL 3 reports that as
/// SSL_ERROR_SSL "unexpected eof while reading", where 1.1.1 reported SSL_ERROR_SYSCALL).
int cpt_error_is_unexpected_eof(unsigned long code);

/// 1 when `code` says the peer's certificate failed verification (the detail is then in
/// SSL_get_verify_result).
int cpt_error_is_verify_failure(unsigned long code);

/// 1 when `code` says a private key is not the key of the certificate loaded with it.
int cpt_error_is_key_mismatch(unsigned long code);

/// The peer certificate's subject in OpenSSL's one-line form (`/CN=...`) into `buffer`;
/// returns 0 when the peer sent no certificate.
int cpt_peer_subject(const SSL *ssl, char *buffer, int size);

#endif

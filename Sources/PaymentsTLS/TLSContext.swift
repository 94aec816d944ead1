internal import CPaymentsTLS
import PaymentsPlatform

/// The settings every session of one side shares (OpenSSL's `SSL_CTX`): the identity, the
/// certificates trusted, TLS 1.2 at least. Built once, then read by any thread that starts
/// sessions.
///
/// Reloading the certificate (SIGHUP) is building a new context and starting new sessions from
/// it; when the build fails the old context stays in use. A session holds a reference of
/// OpenSSL's own to the context it was made from, so dropping a context never disturbs the
/// sessions still running on it: `SSL_CTX_free` in `deinit` frees it only after its last session.
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable { case server, client }

    public let role: Role
    let handle: OpaquePointer

    private init(role: Role) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        let method = role == .server ? TLS_server_method() : TLS_client_method()
        guard let handle = SSL_CTX_new(method) else {
            throw .openSSL(call: "SSL_CTX_new", reason: OpenSSLErrorQueue.drain())
        }
        self.role = role
        self.handle = handle
        guard cpt_ctx_configure(handle) == 1 else {
            throw .openSSL(call: "SSL_CTX_set_min_proto_version", reason: OpenSSLErrorQueue.drain())
        }
    }

    deinit { SSL_CTX_free(handle) }

    /// A server's context: `identity` shown to every client; with `clientCA`, every client must
    /// show a certificate issued by one of that file's CAs, or the handshake fails.
    ///
    /// Throws, naming the file: `.unreadableFile` (missing, no permission), `.invalidFile` (no
    /// usable PEM content), `.keyMismatch` (the key is not the certificate's).
    public static func server(identity: TLSIdentity, clientCA: String? = nil) throws(TLSError) -> TLSContext {
        let context = try TLSContext(role: .server)
        try context.use(identity)
        if let clientCA {
            try context.trust(clientCA, as: .clientCA)
            try context.announceClientCAs(from: clientCA)
            SSL_CTX_set_verify(context.handle, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        return context
    }

    /// A client's context: servers are verified against the CAs in `caFile` (`--cacert`), else
    /// against the system's default CA store; `identity` is shown to a server that asks for a
    /// client certificate. Each session also checks the server's name (see `TLSSession.connecting`).
    public static func client(caFile: String? = nil, identity: TLSIdentity? = nil) throws(TLSError) -> TLSContext {
        let context = try TLSContext(role: .client)
        if let caFile {
            try context.trust(caFile, as: .trustedCA)
        } else if SSL_CTX_set_default_verify_paths(context.handle) != 1 {
            throw .openSSL(call: "SSL_CTX_set_default_verify_paths", reason: OpenSSLErrorQueue.drain())
        }
        if let identity { try context.use(identity) }
        SSL_CTX_set_verify(context.handle, SSL_VERIFY_PEER, nil)
        return context
    }

    /// Loads the chain, then the key, then checks they belong together: each failure names its file.
    private func use(_ identity: TLSIdentity) throws(TLSError) {
        let chain = identity.certificateChain, key = identity.privateKey
        try Self.checkReadable(chain, as: .certificate)
        try Self.checkReadable(key, as: .privateKey)
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_use_certificate_chain_file(handle, chain) == 1 else {
            throw .invalidFile(.certificate, path: chain, reason: OpenSSLErrorQueue.drain())
        }
        guard SSL_CTX_use_PrivateKey_file(handle, key, SSL_FILETYPE_PEM) == 1 else {
            let codes = OpenSSLErrorQueue.take()
            if codes.contains(where: { cpt_error_is_key_mismatch($0) == 1 }) {
                throw .keyMismatch(certificate: chain, key: key, reason: OpenSSLErrorQueue.text(codes))
            }
            throw .invalidFile(.privateKey, path: key, reason: OpenSSLErrorQueue.text(codes))
        }
        guard SSL_CTX_check_private_key(handle) == 1 else {
            throw .keyMismatch(certificate: chain, key: key, reason: OpenSSLErrorQueue.drain())
        }
    }

    /// Trusts the CAs in `path` for verifying the peer's certificate.
    private func trust(_ path: String, as file: TLSFile) throws(TLSError) {
        try Self.checkReadable(path, as: file)
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_load_verify_locations(handle, path, nil) == 1 else {
            throw .invalidFile(file, path: path, reason: OpenSSLErrorQueue.drain())
        }
    }

    /// Names the accepted CAs in the server's certificate request, so that a client holding
    /// several certificates knows which one to show.
    private func announceClientCAs(from path: String) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let names = SSL_load_client_CA_file(path) else {
            throw .invalidFile(.clientCA, path: path, reason: OpenSSLErrorQueue.drain())
        }
        SSL_CTX_set_client_CA_list(handle, names)
    }

    /// OpenSSL reports a missing file as a "system library" error without the errno's text:
    /// opening the file first gives the operator "No such file or directory" or "Permission denied".
    private static func checkReadable(_ path: String, as file: TLSFile) throws(TLSError) {
        do throws(SystemError) {
            let fd = try FileDescriptor.openForReading(path)
            try? fd.close()
        } catch {
            throw .unreadableFile(file, path: path, error)
        }
    }
}

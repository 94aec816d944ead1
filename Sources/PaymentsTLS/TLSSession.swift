internal import CPaymentsTLS
public import PaymentsPlatform
import Glibc

/// One TLS connection (OpenSSL's `SSL`) over a connected socket, made for an epoll loop: every
/// call returns at once, saying what to wait for when it cannot go on. Used by one thread at a
/// time (`Sendable` to be handed to the thread that owns it, not shared).
///
/// The socket stays the caller's: the session never closes it, and `deinit` frees only the
/// `SSL`. A failed call leaves the session unusable (OpenSSL forbids going on): close the socket.
///
/// Writing to a socket whose peer is gone raises `SIGPIPE` (OpenSSL writes with `write`, not
/// `send(MSG_NOSIGNAL)`), and so may a read, which answers a cut connection with an alert: a
/// process using this type ignores `SIGPIPE` first (`Signals.ignoreBrokenPipe()`).
public final class TLSSession: @unchecked Sendable {
    /// The `SSL`; holds a reference to its context's `SSL_CTX`.
    private let ssl: OpaquePointer
    /// The socket, for messages; the caller owns it.
    public let descriptor: FileDescriptor
    /// Set by a fatal error: OpenSSL must not be called again on this session, not even to shut down.
    public private(set) var hasFailed = false

    private init(ssl: OpaquePointer, descriptor: FileDescriptor) {
        self.ssl = ssl
        self.descriptor = descriptor
    }

    deinit { SSL_free(ssl) }

    /// The server's side of a connection just accepted. `context` must be a server context.
    public static func accepting(_ socket: FileDescriptor, context: TLSContext) throws(TLSError) -> TLSSession {
        precondition(context.role == .server, "TLSSession.accepting needs a server context")
        let session = try TLSSession(socket, context: context)
        SSL_set_accept_state(session.ssl)
        return session
    }

    /// The client's side of a connection to `host`, whose certificate must name it (a DNS name,
    /// also sent as SNI, or an IP address). `context` must be a client context.
    public static func connecting(
        _ socket: FileDescriptor, context: TLSContext, host: String
    ) throws(TLSError) -> TLSSession {
        precondition(context.role == .client, "TLSSession.connecting needs a client context")
        let session = try TLSSession(socket, context: context)
        guard cpt_set_peer_name(session.ssl, host) == 1 else {
            throw .openSSL(call: "SSL_set1_host \(host)", reason: OpenSSLErrorQueue.drain())
        }
        SSL_set_connect_state(session.ssl)
        return session
    }

    private convenience init(_ socket: FileDescriptor, context: TLSContext) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.handle) else {
            throw .openSSL(call: "SSL_new", reason: OpenSSLErrorQueue.drain())
        }
        self.init(ssl: ssl, descriptor: socket)
        guard SSL_set_fd(ssl, socket.rawValue) == 1 else {
            throw .openSSL(call: "SSL_set_fd", reason: OpenSSLErrorQueue.drain())
        }
    }

    // MARK: The calls an event loop makes

    /// Advances the handshake. Throws `.handshake` with OpenSSL's reason: a plain-text client
    /// ("wrong version number", "http request"), a refused or missing certificate ("certificate
    /// verify failed: ...", "certificate required", "unknown ca"), the peer gone.
    /// The corresponding C function is `SSL_do_handshake`.
    public func handshake() throws(TLSError) -> TLSProgress {
        switch perform({ SSL_do_handshake($0) }) {
        case .success: return .done
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closeNotify, .eof: throw .handshake("the peer closed the connection during the handshake")
        case .fatal(let reason): throw .handshake(reason)
        }
    }

    /// Decrypts into `buffer` (not empty). After `.bytes`, call again before waiting for the
    /// socket while `pendingBytes` is above 0: those bytes are inside OpenSSL, and epoll will not
    /// report them. Throws `.connection` on a reset, a corrupt record or a fatal alert.
    /// The corresponding C function is `SSL_read_ex`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> TLSReadResult {
        precondition(buffer.count > 0, "TLSSession.read needs room for at least one byte")
        var count = 0
        switch perform({ SSL_read_ex($0, buffer.baseAddress, buffer.count, &count) }) {
        case .success: return .bytes(count)
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closeNotify: return .closeNotify
        case .eof: return .eof
        case .fatal(let reason): throw .connection(reason)
        }
    }

    /// Encrypts and sends from the start of `bytes`; takes part of them when the socket's buffer
    /// fills (partial writes are on). After `.wantRead`/`.wantWrite`, the next call must begin
    /// with the same bytes; they may have moved and more may follow. Throws `.connection` when
    /// the peer is gone (`EPIPE`, `ECONNRESET`). The corresponding C function is `SSL_write_ex`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> TLSWriteResult {
        guard bytes.count > 0 else { return .wrote(0) }
        var count = 0
        switch perform({ SSL_write_ex($0, bytes.baseAddress, bytes.count, &count) }) {
        case .success: return .wrote(count)
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closeNotify, .eof: throw .connection("the peer closed the connection")
        case .fatal(let reason): throw .connection(reason)
        }
    }

    /// Sends close_notify: `.done` once it is sent. The peer's close_notify is not waited for
    /// (the socket is closed next). Before the handshake is done or after a fatal error there is
    /// nothing to send (OpenSSL refuses to), and this returns `.done` without calling it.
    /// The corresponding C function is `SSL_shutdown`.
    public func shutdown() throws(TLSError) -> TLSProgress {
        guard !hasFailed, SSL_is_init_finished(ssl) == 1 else { return .done }
        // 0 means "sent, the peer's not yet received", 1 "both": either is done for us.
        switch perform({ SSL_shutdown($0) >= 0 ? 1 : -1 }) {
        case .success, .closeNotify: return .done
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .eof: throw .connection("the peer closed the connection")
        case .fatal(let reason): throw .connection(reason)
        }
    }

    // MARK: State

    /// Decrypted bytes waiting inside OpenSSL, which epoll cannot see: read them without
    /// waiting for the socket. The corresponding C function is `SSL_pending`.
    public var pendingBytes: Int { Int(SSL_pending(ssl)) }

    /// The peer certificate's subject (`/CN=client-1`) once the handshake is done; nil when the
    /// peer showed none. For logs.
    public var peerCertificateSubject: String? {
        var buffer = [CChar](repeating: 0, count: 512)
        guard cpt_peer_subject(ssl, &buffer, Int32(buffer.count)) == 1 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The version agreed on: "TLSv1.3", "TLSv1.2" (before the handshake, the highest allowed).
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    // MARK: One SSL call, sorted

    private enum Step {
        case success, wantRead, wantWrite, closeNotify, eof
        case fatal(String)
    }

    /// Runs one `SSL_*` call with an empty error queue and `errno` 0, and sorts what happened
    /// (`SSL_get_error`). A fatal outcome takes the queue into its reason and marks the session
    /// failed.
    private func perform(_ call: (OpaquePointer) -> Int32) -> Step {
        guard !hasFailed else { return .fatal("the TLS session failed earlier") }
        OpenSSLErrorQueue.clear()
        Glibc.errno = 0
        let result = call(ssl)
        let savedErrno = Glibc.errno
        if result > 0 { return .success }
        let error = SSL_get_error(ssl, result)
        switch error {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closeNotify
        case SSL_ERROR_SYSCALL:
            hasFailed = true
            let codes = OpenSSLErrorQueue.take()
            if !codes.isEmpty { return .fatal(OpenSSLErrorQueue.text(codes)) }
            // OpenSSL 1.1.1's way of saying TCP closed without close_notify.
            if savedErrno == 0 { return .eof }
            return .fatal(SystemError(call: "TLS socket", subject: descriptor.label, errno: savedErrno).description)
        case SSL_ERROR_SSL:
            hasFailed = true
            let codes = OpenSSLErrorQueue.take()
            // OpenSSL 3's way of saying TCP closed without close_notify.
            if codes.contains(where: { cpt_error_is_unexpected_eof($0) == 1 }) { return .eof }
            return .fatal(OpenSSLErrorQueue.text(codes) + verifyDetail(codes))
        default:
            hasFailed = true
            return .fatal("SSL_get_error \(error): " + OpenSSLErrorQueue.drain())
        }
    }

    /// Why our side refused the peer's certificate ("hostname mismatch", "unable to get local
    /// issuer certificate"): the queue says only "certificate verify failed".
    private func verifyDetail(_ codes: [UInt]) -> String {
        guard codes.contains(where: { cpt_error_is_verify_failure($0) == 1 }) else { return "" }
        let result = SSL_get_verify_result(ssl)
        guard result != X509_V_OK else { return "" }
        return ": " + String(cString: X509_verify_cert_error_string(result))
    }
}

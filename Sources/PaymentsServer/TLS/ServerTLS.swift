public import PaymentsTLS

/// The daemon's TLS settings (§9), shared by every TCP and HTTP listener. The context is
/// replaced whole on SIGHUP: connections already open keep the one they began with (OpenSSL
/// counts its references), new ones get the new certificate.
public final class ServerTLS {
    public let certificate: String
    public let key: String
    public let clientCA: String?
    public private(set) var context: TLSContext
    /// A handshake not done by then is dropped: a client that connects and stalls holds a
    /// descriptor and a session, and must not hold them for ever.
    public let handshakeTimeoutMilliseconds: UInt64
    public static let defaultHandshakeTimeoutMilliseconds: UInt64 = 10_000

    public init(
        certificate: String, key: String, clientCA: String?,
        handshakeTimeoutMilliseconds: UInt64 = ServerTLS.defaultHandshakeTimeoutMilliseconds
    ) throws(TLSError) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
        self.handshakeTimeoutMilliseconds = handshakeTimeoutMilliseconds
        context = try Self.load(certificate, key, clientCA)
    }

    /// Reads the files again; on failure the context in force stays and the error says why.
    public func reload() throws(TLSError) {
        context = try Self.load(certificate, key, clientCA)
    }

    static func load(_ certificate: String, _ key: String, _ clientCA: String?) throws(TLSError) -> TLSContext {
        try TLSContext.server(identity: TLSIdentity(certificateChain: certificate, privateKey: key), clientCA: clientCA)
    }
}

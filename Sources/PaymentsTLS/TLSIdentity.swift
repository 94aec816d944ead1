/// A certificate chain and its private key, both PEM files: what a server shows every client,
/// or what a client shows a server that asks for one (`--tls-client-ca`).
public struct TLSIdentity: Equatable, Sendable {
    /// The certificate first, then the intermediates that lead to the CA.
    public var certificateChain: String
    /// The unencrypted private key of the first certificate.
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}

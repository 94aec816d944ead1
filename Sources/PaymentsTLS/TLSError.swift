public import PaymentsPlatform

/// Which file a TLS error is about, named as an operator knows it.
public enum TLSFile: String, Sendable {
    case certificate = "TLS certificate"
    case privateKey = "TLS private key"
    case clientCA = "TLS client CA file"
    case trustedCA = "CA file"

    /// What the file should have held, for "not a usable ..." messages.
    var expected: String {
        switch self {
        case .certificate: return "PEM certificate chain"
        case .privateKey: return "PEM private key (unencrypted)"
        case .clientCA, .trustedCA: return "file of PEM CA certificates"
        }
    }
}

/// Why TLS could not be set up or went wrong. Each renders as one line for people, naming the
/// file or the connection and OpenSSL's reason (`error:0A00010B:SSL routines::wrong version
/// number`), fit for a start-up error or a log line.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened (missing, permission denied...).
    case unreadableFile(TLSFile, path: String, SystemError)
    /// The file opened but OpenSSL found no usable PEM content in it.
    case invalidFile(TLSFile, path: String, reason: String)
    /// The private key is not the key of the certificate.
    case keyMismatch(certificate: String, key: String, reason: String)
    /// The handshake failed: not TLS, no common version or cipher, a certificate refused or missing.
    case handshake(String)
    /// An established connection failed: reset, broken pipe, a corrupt record.
    case connection(String)
    /// A blocking call waited past the socket's `SO_RCVTIMEO`/`SO_SNDTIMEO`.
    case timedOut(String)
    /// OpenSSL could not set up a context or session (out of memory, a broken library).
    case openSSL(call: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let file, let path, let error):
            return "cannot read \(file.rawValue) \(path): \(error.message)"
        case .invalidFile(let file, let path, let reason):
            return "\(file.rawValue) \(path): not a usable \(file.expected) (\(reason))"
        case .keyMismatch(let certificate, let key, let reason):
            return "\(TLSFile.privateKey.rawValue) \(key) does not match \(TLSFile.certificate.rawValue) \(certificate) (\(reason))"
        case .handshake(let reason):
            return "TLS handshake failed: \(reason)"
        case .connection(let reason):
            return "TLS connection failed: \(reason)"
        case .timedOut(let what):
            return "TLS \(what) timed out"
        case .openSSL(let call, let reason):
            return "\(call) failed: \(reason)"
        }
    }
}

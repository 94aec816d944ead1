import PaymentsTLS

/// The tokens the daemon accepts, as hashes, and what they may do. A presented token is hashed
/// and compared with every entry in constant time: neither the time nor the result of a failed
/// look-up says how close a guess came, or which entry it was close to.
public final class Tokens {
    public private(set) var file: AuthFile
    /// Bumped by every reload: a connection that authenticated under an older generation looks
    /// its token up again before its next request, so a revoked token stops working at once
    /// without dropping the connections of the tokens that stayed.
    public private(set) var generation: UInt64 = 1
    /// Longest token taken; longer ones fail without being hashed.
    public static let maxTokenBytes = 1024

    public init(_ file: AuthFile) { self.file = file }

    public func replace(with file: AuthFile) {
        self.file = file
        generation += 1
    }

    /// The entry whose hash is `hash`, scanning all of them whatever matches.
    public func entry(forHash hash: [UInt8]) -> AuthFile.Entry? {
        var found: AuthFile.Entry?
        for entry in file.entries where constantTimeEquals(entry.hash, hash) && found == nil {
            found = entry
        }
        return found
    }

    /// Hashes a presented token; nil when it is empty or too long to be one of ours.
    public static func hash(_ token: some Collection<UInt8>) -> [UInt8]? {
        guard !token.isEmpty, token.count <= maxTokenBytes else { return nil }
        return SHA256.hash(token)
    }
}

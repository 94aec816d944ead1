// The header fields the daemon acts on. Only these are kept; every other field is checked for
// syntax, counted against the header limit and dropped, which keeps a request cheap.

/// A header field the parser keeps the value of, matched case-insensitively (RFC 9110 §5.1).
public enum HTTPHeaderName: Int, Sendable, Hashable, CaseIterable {
    case contentLength, transferEncoding, connection, expect, accept, contentType, host, authorization

    /// Lowercase wire name, for lookups by text.
    public var lowercaseName: StaticString {
        switch self {
        case .contentLength: "content-length"
        case .transferEncoding: "transfer-encoding"
        case .connection: "connection"
        case .expect: "expect"
        case .accept: "accept"
        case .contentType: "content-type"
        case .host: "host"
        case .authorization: "authorization"
        }
    }

    /// The kept field named by `b[r]`, or nil for one we drop. Dispatches on length first
    /// so that most unknown names cost one comparison.
    static func recognise<Bytes: RandomAccessCollection<UInt8>>(_ b: Bytes, _ r: Range<Int>) -> HTTPHeaderName? where Bytes.Index == Int {
        let candidate: HTTPHeaderName
        switch r.count {
        case 4: candidate = .host
        case 6: candidate = HTTPASCII.lowercased(b[r.lowerBound]) == 0x61 ? .accept : .expect
        case 10: candidate = .connection
        case 12: candidate = .contentType
        case 13: candidate = .authorization
        case 14: candidate = .contentLength
        case 17: candidate = .transferEncoding
        default: return nil
        }
        return HTTPASCII.matchesIgnoringCase(b, r, candidate.lowercaseName) ? candidate : nil
    }

    /// The kept field with this name in any case, e.g. `"Content-Type"`.
    public init?(_ name: some StringProtocol) {
        let bytes = Array(name.utf8)
        guard let found = HTTPHeaderName.recognise(bytes, 0..<bytes.count) else { return nil }
        self = found
    }
}

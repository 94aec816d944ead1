// Request methods, recognised from bytes without building a String.

/// The request method. Methods are case-sensitive (RFC 9110 §9.1): `get` is not `GET`
/// and lands in `.other`, which the router answers with 405 on a known path.
public enum HTTPMethod: UInt8, Sendable, Hashable {
    case get, head, post, put, delete, options, patch, trace, connect, other

    /// Recognises a method token already checked to be `tchar`s.
    static func recognise<Bytes: RandomAccessCollection<UInt8>>(_ b: Bytes, _ r: Range<Int>) -> HTTPMethod where Bytes.Index == Int {
        let s = r.lowerBound
        switch r.count {
        case 3:
            if b[s] == 0x47, b[s + 1] == 0x45, b[s + 2] == 0x54 { return .get }  // GET
            if b[s] == 0x50, b[s + 1] == 0x55, b[s + 2] == 0x54 { return .put }  // PUT
        case 4:
            if HTTPASCII.matches(b, r, "HEAD") { return .head }
            if HTTPASCII.matches(b, r, "POST") { return .post }
        case 5:
            if HTTPASCII.matches(b, r, "PATCH") { return .patch }
            if HTTPASCII.matches(b, r, "TRACE") { return .trace }
        case 6:
            if HTTPASCII.matches(b, r, "DELETE") { return .delete }
        case 7:
            if HTTPASCII.matches(b, r, "OPTIONS") { return .options }
            if HTTPASCII.matches(b, r, "CONNECT") { return .connect }
        default: break
        }
        return .other
    }

    /// Whether a request with this method must say how long its body is (411 otherwise).
    var requiresBodyLength: Bool { self == .post || self == .put }
}

/// The protocol version of a request. Only 1.0 and 1.1 are spoken; anything else that looks
/// like a version gets 505.
public enum HTTPVersion: Sendable, Hashable {
    case http10, http11
}

// One complete request as the parser hands it to the server.

/// A parsed request: its line, the header fields we keep, the framing decisions already made
/// (keep-alive, body length) and the decoded body.
///
/// The target and the kept header values live in one byte array (`storage`) so that a GET
/// costs one allocation; accessors hand out slices of it.
public struct HTTPRequest: Sendable, Hashable {
    public var method: HTTPMethod
    public var version: HTTPVersion
    /// Whether the connection stays open after the response: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool
    /// The request carried `Expect: 100-continue` (ignored, and false, in HTTP/1.0).
    public var expectsContinue: Bool
    /// The body was sent with `Transfer-Encoding: chunked`.
    public var isChunked: Bool
    /// The `Content-Length` the client declared, if any.
    public var contentLength: Int?
    /// Bytes of the request line and header section, line ends included.
    public var headerBytes: Int
    /// The body, de-chunked; empty when there was none.
    public var body: [UInt8]

    var storage: [UInt8]
    var pathRange: Range<Int>
    var queryRange: Range<Int>?
    var fieldRanges: HTTPFieldRanges

    /// The path of the target, without the query; `/` for an absolute-form target with no
    /// path, `*` for `OPTIONS *`. Not percent-decoded.
    public var path: ArraySlice<UInt8> { storage[pathRange] }
    /// The text after the first `?` (without it), or nil when there was no `?`.
    public var query: ArraySlice<UInt8>? { queryRange.map { storage[$0] } }
    /// The value of a kept header field, trimmed, or nil when absent. For a repeated field
    /// this is the first occurrence (repeated `Content-Length`s must agree, a repeated
    /// `Host` or `Transfer-Encoding` is refused).
    public func header(_ name: HTTPHeaderName) -> ArraySlice<UInt8>? {
        fieldRanges[name].map { storage[$0] }
    }
    /// Case-insensitive lookup by name text; nil as well for fields the parser does not keep.
    public func header(named name: some StringProtocol) -> ArraySlice<UInt8>? {
        HTTPHeaderName(name).flatMap { header($0) }
    }

    /// Whether `Accept` names `text/csv`: the one content negotiation SPEC §7 asks for.
    public var acceptsCSV: Bool { headerContainsMediaType(.accept, "text/csv") }

    /// Whether `Content-Type` is the given lowercase media type, parameters ignored.
    public func contentTypeIs(_ lowercaseMediaType: StaticString) -> Bool {
        headerContainsMediaType(.contentType, lowercaseMediaType)
    }

    /// Strings for logs and tests; the server's hot path uses the byte slices.
    public var pathString: String { String(decoding: path, as: UTF8.self) }
    public var queryString: String? { query.map { String(decoding: $0, as: UTF8.self) } }

    private func headerContainsMediaType(_ name: HTTPHeaderName, _ type: StaticString) -> Bool {
        guard let r = fieldRanges[name] else { return false }
        var found = false
        HTTPASCII.forEachListElement(storage, r) { element in
            var end = element.lowerBound
            while end < element.upperBound, storage[end] != 0x3B { end += 1 }  // ";" parameters
            if HTTPASCII.matchesIgnoringCase(storage, HTTPASCII.trimmed(storage, element.lowerBound..<end), type) {
                found = true
            }
        }
        return found
    }
}

/// Where each kept field's value sits in `HTTPRequest.storage`. Fixed fields instead of a
/// dictionary: no allocation and no hashing. Offsets are 32-bit (storage is bounded by the
/// header limit) to keep requests small: they are moved several times per parse.
struct HTTPFieldRanges: Sendable, Hashable {
    private var starts = SIMD8<UInt32>(repeating: UInt32.max)  // UInt32.max: absent
    private var ends = SIMD8<UInt32>(repeating: 0)

    subscript(name: HTTPHeaderName) -> Range<Int>? {
        get {
            let start = starts[name.rawValue]
            return start == UInt32.max ? nil : Int(start)..<Int(ends[name.rawValue])
        }
        set {
            if let r = newValue {
                starts[name.rawValue] = UInt32(r.lowerBound)
                ends[name.rawValue] = UInt32(r.upperBound)
            } else {
                starts[name.rawValue] = UInt32.max
                ends[name.rawValue] = 0
            }
        }
    }
}

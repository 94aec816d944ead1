// The request line and header lines of RFC 9112 §3 and §5, one complete line at a time.
// The incremental framing (finding lines, bodies, chunks) is HTTPRequestParser's job; this
// file only judges a line it is given, which keeps both halves small and testable.

/// A request whose head is being read: what the lines so far said.
struct HTTPHeadBuilder {
    var method: HTTPMethod = .other
    var version: HTTPVersion = .http11
    var storage: [UInt8] = []
    var pathRange: Range<Int> = 0..<0
    var queryRange: Range<Int>?
    var fields = HTTPFieldRanges()
    var contentLength: Int?
    var isChunked = false
    var sawTransferEncoding = false
    var connectionClose = false
    var connectionKeepAlive = false
    var expectsContinue = false
    /// Bytes of the head read so far, line ends included; checked against the 431 limit.
    var headerBytes = 0

    /// Whether the request line has been read (header lines follow it).
    var hasRequestLine = false
}

enum HTTPHeadParser {
    enum VersionResult: Equatable {
        case version(HTTPVersion)
        case refused(HTTPStatus)
    }

    /// Parses `method SP target SP version` (RFC 9112 §3). Single spaces only: anything
    /// looser is how request smuggling starts.
    static func parseRequestLine(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, into head: inout HTTPHeadBuilder) -> HTTPStatus? {
        var i = line.lowerBound
        while i < line.upperBound, b[i] != HTTPASCII.space {
            guard HTTPASCII.isTokenChar(b[i]) else { return .badRequest }
            i += 1
        }
        guard i > line.lowerBound, i < line.upperBound else { return .badRequest }
        let methodRange = line.lowerBound..<i
        let targetStart = i + 1
        var j = targetStart
        while j < line.upperBound, b[j] != HTTPASCII.space {
            guard b[j] > 0x20, b[j] != 0x7F else { return .badRequest }
            j += 1
        }
        guard j > targetStart, j < line.upperBound else { return .badRequest }
        switch parseVersion(b, (j + 1)..<line.upperBound) {
        case .version(let version): head.version = version
        case .refused(let status): return status
        }
        head.method = HTTPMethod.recognise(b, methodRange)
        head.hasRequestLine = true
        return storeTarget(b, targetStart..<j, into: &head)
    }

    /// `HTTP/1.0` and `HTTP/1.1` are spoken; `HTTP/<digits>[.<digits>]` is a version we do not
    /// speak (505); anything else is not HTTP (400).
    static func parseVersion(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> VersionResult {
        if HTTPASCII.matches(b, r, "HTTP/1.1") { return .version(.http11) }
        if HTTPASCII.matches(b, r, "HTTP/1.0") { return .version(.http10) }
        guard r.count > 5, HTTPASCII.matches(b, r.lowerBound..<(r.lowerBound + 5), "HTTP/") else {
            return .refused(.badRequest)
        }
        var digitsBefore = 0
        var digitsAfter = 0
        var sawDot = false
        for i in (r.lowerBound + 5)..<r.upperBound {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                if sawDot { digitsAfter += 1 } else { digitsBefore += 1 }
            } else if c == 0x2E && !sawDot {
                sawDot = true
            } else {
                return .refused(.badRequest)
            }
        }
        let wellFormed = digitsBefore > 0 && (!sawDot || digitsAfter > 0) && digitsBefore + digitsAfter <= 4
        return .refused(wellFormed ? .httpVersionNotSupported : .badRequest)
    }

    /// Copies the target into the request's storage, split into path and query. Accepts
    /// origin-form (`/p?q`), absolute-form (`http://host/p?q`, which RFC 9112 §3.2.2 says a
    /// server must accept) and `*`.
    static func storeTarget(_ b: UnsafeBufferPointer<UInt8>, _ target: Range<Int>, into head: inout HTTPHeadBuilder) -> HTTPStatus? {
        var start = target.lowerBound
        head.storage.reserveCapacity(target.count + 64)
        let base = head.storage.count
        if b[start] != 0x2F {  // not "/"
            if target.count == 1 && b[start] == 0x2A {  // "*"
                head.storage.append(0x2A)
                head.pathRange = base..<(base + 1)
                return nil
            }
            guard let pathStart = absoluteFormPathStart(b, target) else { return .badRequest }
            if pathStart == target.upperBound || b[pathStart] == 0x3F {
                head.storage.append(0x2F)  // "http://host" and "http://host?q" mean path "/"
            }
            start = pathStart
        }
        head.storage.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<target.upperBound]))
        let end = head.storage.count
        if let q = head.storage[base..<end].firstIndex(of: 0x3F) {
            head.pathRange = base..<q
            head.queryRange = (q + 1)..<end
        } else {
            head.pathRange = base..<end
        }
        return nil
    }

    /// Index just after the authority of `http://authority...`, or nil if not absolute-form.
    private static func absoluteFormPathStart(_ b: UnsafeBufferPointer<UInt8>, _ target: Range<Int>) -> Int? {
        let afterScheme: Int
        if HTTPASCII.hasPrefixIgnoringCase(b, target, "http://") {
            afterScheme = target.lowerBound + 7
        } else if HTTPASCII.hasPrefixIgnoringCase(b, target, "https://") {
            afterScheme = target.lowerBound + 8
        } else {
            return nil
        }
        var i = afterScheme
        while i < target.upperBound, b[i] != 0x2F, b[i] != 0x3F { i += 1 }
        return i > afterScheme ? i : nil
    }

    /// Parses `name: value` (RFC 9112 §5). Refuses obs-fold, spaces before the colon, and
    /// control bytes in values: each has been used to make two parsers disagree.
    static func parseHeaderLine(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, into head: inout HTTPHeadBuilder) -> HTTPStatus? {
        guard !HTTPASCII.isWhitespace(b[line.lowerBound]) else { return .badRequest }  // obs-fold
        var colon = line.lowerBound
        while colon < line.upperBound, b[colon] != HTTPASCII.colon {
            guard HTTPASCII.isTokenChar(b[colon]) else { return .badRequest }
            colon += 1
        }
        guard colon > line.lowerBound, colon < line.upperBound else { return .badRequest }
        let value = HTTPASCII.trimmed(b, (colon + 1)..<line.upperBound)
        for i in value {
            let c = b[i]
            guard c >= 0x20 || c == HTTPASCII.tab, c != 0x7F else { return .badRequest }
        }
        guard let name = HTTPHeaderName.recognise(b, line.lowerBound..<colon) else { return nil }
        return apply(name, b, value, to: &head)
    }

    /// Records a kept field and acts on the ones that decide framing and keep-alive.
    private static func apply(_ name: HTTPHeaderName, _ b: UnsafeBufferPointer<UInt8>, _ value: Range<Int>, to head: inout HTTPHeadBuilder) -> HTTPStatus? {
        switch name {
        case .contentLength:
            guard let length = parseContentLength(b, value) else { return .badRequest }
            if let earlier = head.contentLength, earlier != length { return .badRequest }
            head.contentLength = length
        case .transferEncoding:
            // Only `chunked`, once: a stacked coding (`gzip, chunked`) is something we cannot
            // decode, and a second Transfer-Encoding line is a smuggling classic.
            guard !head.sawTransferEncoding, HTTPASCII.matchesIgnoringCase(b, value, "chunked") else { return .badRequest }
            head.sawTransferEncoding = true
            head.isChunked = true
        case .connection:
            HTTPASCII.forEachListElement(b, value) { option in
                if HTTPASCII.matchesIgnoringCase(b, option, "close") { head.connectionClose = true }
                if HTTPASCII.matchesIgnoringCase(b, option, "keep-alive") { head.connectionKeepAlive = true }
            }
        case .expect:
            // Other expectations would deserve 417; we ignore them rather than add a status.
            if HTTPASCII.matchesIgnoringCase(b, value, "100-continue") { head.expectsContinue = true }
        case .host:
            guard head.fields[.host] == nil else { return .badRequest }  // RFC 9112 §3.2
        case .accept, .contentType, .authorization:
            break
        }
        if head.fields[name] == nil {
            let start = head.storage.count
            head.storage.append(contentsOf: UnsafeBufferPointer(rebasing: b[value]))
            head.fields[name] = start..<head.storage.count
        }
        return nil
    }

    /// Digits only (no sign, no list). Saturates at `Int.max` so that an absurd length is
    /// reported as too large (413) rather than malformed.
    static func parseContentLength(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty else { return nil }
        var n = 0
        for i in r {
            let c = b[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(c - 0x30))
            n = (o1 || o2) ? Int.max : sum
        }
        return n
    }
}

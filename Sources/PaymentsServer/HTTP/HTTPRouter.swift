// Maps a request's method and path to one of the routes of SPEC §7.
//
// Path rules, chosen for operators typing URLs by hand:
// - one trailing slash is tolerated (`/clients/` is `/clients`); `/` itself is not a route;
// - the query string is ignored (the parser already split it off);
// - no percent-decoding: ids are plain decimal digits, so `/clients/%31` is a 404;
// - ids are decimal digits only (leading zeros allowed); out of range (client > 65535,
//   tx > 4294967295) or not a number is a 404, as for an id that does not exist;
// - HEAD is served like GET without a body (`headOnly`); the `Allow` of a GET route is
//   `GET, HEAD`;
// - a known path with another method (including unknown methods) is 405 with `Allow`.

/// A route of SPEC §7 with its ids already parsed.
public enum HTTPRoute: Sendable, Hashable {
    case healthz
    case clients
    case client(UInt16)
    case clientTransactions(UInt16)
    case transaction(UInt32)
    case postTransactions
    case metrics
    /// `GET /leader`: 200 where writes go, 503 elsewhere (for load balancers, as Patroni does).
    case leader
    /// `GET /events?from=LSN` (or `?snapshot=1`): the change stream of §10 as chunked NDJSON.
    case events

    /// Answers from the ledger's state (refused by a leader whose lease may have run out).
    var readsLedger: Bool {
        switch self {
        case .clients, .client, .clientTransactions, .transaction, .events: true
        default: false
        }
    }
}

/// What the router decided.
public enum HTTPRouteResult: Sendable, Hashable {
    /// Serve this route; `headOnly` when the request was HEAD (send headers, no body).
    case route(HTTPRoute, headOnly: Bool)
    /// 404: no such path, or an id that cannot exist.
    case notFound
    /// 405: the path exists but not for this method; send `allow` as the `Allow` header.
    case methodNotAllowed(allow: StaticString)

    public static func == (a: HTTPRouteResult, b: HTTPRouteResult) -> Bool {
        switch (a, b) {
        case let (.route(r1, h1), .route(r2, h2)): r1 == r2 && h1 == h2
        case (.notFound, .notFound): true
        case let (.methodNotAllowed(x), .methodNotAllowed(y)): x.description == y.description
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .route(r, h): hasher.combine(r); hasher.combine(h)
        case .notFound: hasher.combine(0)
        case let .methodNotAllowed(allow): hasher.combine(allow.description)
        }
    }
}

public enum HTTPRouter {
    static let allowGet: StaticString = "GET, HEAD"
    static let allowPost: StaticString = "POST"

    /// Routes a parsed request.
    public static func route(_ request: HTTPRequest) -> HTTPRouteResult {
        route(method: request.method, path: request.path)
    }

    /// Routes a method and a path (no query). Works on the path bytes directly.
    public static func route(method: HTTPMethod, path: ArraySlice<UInt8>) -> HTTPRouteResult {
        var segments = HTTPPathSegments(path)
        guard let (resource, kind) = resolve(&segments) else { return .notFound }
        switch kind {
        case .get:
            if method == .get { return .route(resource, headOnly: false) }
            if method == .head { return .route(resource, headOnly: true) }
            return .methodNotAllowed(allow: allowGet)
        case .post:
            return method == .post ? .route(resource, headOnly: false) : .methodNotAllowed(allow: allowPost)
        }
    }

    private enum Kind { case get, post }

    /// The route a path names, whatever the method.
    private static func resolve(_ s: inout HTTPPathSegments) -> (HTTPRoute, Kind)? {
        guard let first = s.next() else { return nil }
        let second = s.next()
        let third = s.next()
        guard s.next() == nil, s.isValid else { return nil }
        let b = s.bytes
        if HTTPASCII.matches(b, first, "healthz"), second == nil { return (.healthz, .get) }
        if HTTPASCII.matches(b, first, "metrics"), second == nil { return (.metrics, .get) }
        if HTTPASCII.matches(b, first, "leader"), second == nil { return (.leader, .get) }
        if HTTPASCII.matches(b, first, "events"), second == nil { return (.events, .get) }
        if HTTPASCII.matches(b, first, "clients") {
            guard let second else { return (.clients, .get) }
            guard let id = decimal(b, second, max: UInt64(UInt16.max)) else { return nil }
            if third == nil { return (.client(UInt16(id)), .get) }
            if let third, HTTPASCII.matches(b, third, "transactions") { return (.clientTransactions(UInt16(id)), .get) }
            return nil
        }
        if HTTPASCII.matches(b, first, "transactions"), third == nil {
            guard let second else { return (.postTransactions, .post) }
            guard let id = decimal(b, second, max: UInt64(UInt32.max)) else { return nil }
            return (.transaction(UInt32(id)), .get)
        }
        return nil
    }

    /// Decimal digits within `max`, else nil.
    static func decimal(_ b: ArraySlice<UInt8>, _ r: Range<Int>, max: UInt64) -> UInt64? {
        guard !r.isEmpty else { return nil }
        var n: UInt64 = 0
        for i in r {
            let c = b[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            n = n * 10 + UInt64(c - 0x30)
            guard n <= max else { return nil }
        }
        return n
    }
}

/// The `/`-separated segments of an absolute path, as ranges into it. A single trailing slash
/// is dropped; an empty segment elsewhere (`//`) or a path not starting with `/` makes the
/// path invalid.
struct HTTPPathSegments {
    let bytes: ArraySlice<UInt8>
    private var position: Int
    private(set) var isValid: Bool

    init(_ path: ArraySlice<UInt8>) {
        var end = path.endIndex
        if end - path.startIndex > 1, path[end - 1] == 0x2F { end -= 1 }
        bytes = path[path.startIndex..<end]
        position = path.startIndex
        isValid = !bytes.isEmpty && bytes[bytes.startIndex] == 0x2F
    }

    mutating func next() -> Range<Int>? {
        guard isValid, position < bytes.endIndex else { return nil }
        let start = position + 1
        var i = start
        while i < bytes.endIndex, bytes[i] != 0x2F { i += 1 }
        position = i
        if i == start { isValid = false; return nil }
        return start..<i
    }
}

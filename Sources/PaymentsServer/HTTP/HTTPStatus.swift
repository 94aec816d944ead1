// HTTP status codes the daemon answers with (SPEC §7), and their status lines as bytes.

/// Every status the HTTP layer can send. One place names them so that the parser's errors,
/// the router's 404/405 and the engine's outcomes all render the same reason phrase.
public enum HTTPStatus: Int, Sendable, Hashable, CaseIterable {
    case `continue` = 100
    case ok = 200
    case badRequest = 400
    case unauthorized = 401
    case forbidden = 403
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    /// `GET /events?from=LSN` for records no longer kept.
    case gone = 410
    case lengthRequired = 411
    case contentTooLarge = 413
    case unprocessableContent = 422
    case requestHeaderFieldsTooLarge = 431
    case internalServerError = 500
    case serviceUnavailable = 503
    case httpVersionNotSupported = 505

    /// The whole status line, CRLF included, as a literal so rendering it is one memcpy.
    /// We always answer as HTTP/1.1 (RFC 9110 §6.2: a server sends its own highest version),
    /// also to HTTP/1.0 clients.
    public var statusLine: StaticString {
        switch self {
        case .continue: "HTTP/1.1 100 Continue\r\n"
        case .ok: "HTTP/1.1 200 OK\r\n"
        case .badRequest: "HTTP/1.1 400 Bad Request\r\n"
        case .unauthorized: "HTTP/1.1 401 Unauthorized\r\n"
        case .forbidden: "HTTP/1.1 403 Forbidden\r\n"
        case .notFound: "HTTP/1.1 404 Not Found\r\n"
        case .methodNotAllowed: "HTTP/1.1 405 Method Not Allowed\r\n"
        case .requestTimeout: "HTTP/1.1 408 Request Timeout\r\n"
        case .gone: "HTTP/1.1 410 Gone\r\n"
        case .lengthRequired: "HTTP/1.1 411 Length Required\r\n"
        case .contentTooLarge: "HTTP/1.1 413 Content Too Large\r\n"
        case .unprocessableContent: "HTTP/1.1 422 Unprocessable Content\r\n"
        case .requestHeaderFieldsTooLarge: "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        case .internalServerError: "HTTP/1.1 500 Internal Server Error\r\n"
        case .serviceUnavailable: "HTTP/1.1 503 Service Unavailable\r\n"
        case .httpVersionNotSupported: "HTTP/1.1 505 HTTP Version Not Supported\r\n"
        }
    }

    /// The reason phrase alone, for logs and error bodies.
    public var reasonPhrase: String {
        // "HTTP/1.1 404 Not Found\r\n", counted in bytes: "\r\n" is one Character.
        let line = statusLine
        let bytes = UnsafeBufferPointer(start: line.utf8Start, count: line.utf8CodeUnitCount)
        return String(decoding: bytes.dropFirst(13).dropLast(2), as: UTF8.self)
    }
}

// Rendering responses to bytes, appended to the connection's output buffer: no intermediate
// Strings, so a response costs a few memcpys.

/// The media types the daemon answers with, each a full header line ready to copy.
public enum HTTPContentType: Sendable, Hashable {
    case json, csv, plainText, prometheus, ndjson

    var headerLine: StaticString {
        switch self {
        case .json: "Content-Type: application/json\r\n"
        case .csv: "Content-Type: text/csv; charset=utf-8\r\n"
        case .plainText: "Content-Type: text/plain; charset=utf-8\r\n"
        case .prometheus: "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        case .ndjson: "Content-Type: application/x-ndjson\r\n"
        }
    }
}

public enum HTTPResponse {
    /// The interim response to `Expect: 100-continue` (`HTTPParserEvent.sendContinue`).
    public static let continueBytes: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    public static func appendContinue(to out: inout [UInt8]) {
        HTTPASCII.append("HTTP/1.1 100 Continue\r\n\r\n", to: &out)
    }

    /// Appends a status line and headers, ending with the empty line.
    ///
    /// - `close`: the connection closes after this response (`Connection: close` is sent).
    ///   Otherwise an HTTP/1.0 request (`requestVersion`) is told `Connection: keep-alive`,
    ///   since keep-alive is not its default.
    /// - `allow`: the `Allow` value, for 405 (`HTTPRouteResult.methodNotAllowed`).
    /// - `extraHeaders`: complete header lines (each ending in CRLF) to add, e.g. a cached
    ///   `Date:` line from `HTTPDate`.
    public static func appendHead(
        _ status: HTTPStatus, contentType: HTTPContentType?, contentLength: Int, close: Bool,
        requestVersion: HTTPVersion = .http11, allow: StaticString? = nil,
        extraHeaders: [UInt8] = [], to out: inout [UInt8]
    ) {
        precondition(contentLength >= 0, "negative Content-Length")
        HTTPASCII.append(status.statusLine, to: &out)
        if let contentType { HTTPASCII.append(contentType.headerLine, to: &out) }
        HTTPASCII.append("Content-Length: ", to: &out)
        HTTPASCII.appendDecimal(contentLength, to: &out)
        HTTPASCII.append("\r\n", to: &out)
        if let allow {
            HTTPASCII.append("Allow: ", to: &out)
            HTTPASCII.append(allow, to: &out)
            HTTPASCII.append("\r\n", to: &out)
        }
        if close {
            HTTPASCII.append("Connection: close\r\n", to: &out)
        } else if requestVersion == .http10 {
            HTTPASCII.append("Connection: keep-alive\r\n", to: &out)
        }
        out.append(contentsOf: extraHeaders)
        HTTPASCII.append("\r\n", to: &out)
    }

    /// Appends the head of a response whose body is streamed: chunked for HTTP/1.1, ended by
    /// closing the connection for HTTP/1.0 (which has no chunked coding).
    public static func appendStreamingHead(
        _ status: HTTPStatus, contentType: HTTPContentType, requestVersion: HTTPVersion,
        extraHeaders: [UInt8] = [], to out: inout [UInt8]
    ) {
        HTTPASCII.append(status.statusLine, to: &out)
        HTTPASCII.append(contentType.headerLine, to: &out)
        if requestVersion == .http10 {
            HTTPASCII.append("Connection: close\r\n", to: &out)
        } else {
            HTTPASCII.append("Transfer-Encoding: chunked\r\n", to: &out)
        }
        HTTPASCII.append("Cache-Control: no-store\r\n", to: &out)
        out.append(contentsOf: extraHeaders)
        HTTPASCII.append("\r\n", to: &out)
    }

    /// Appends a whole response. With `omitBody` (a HEAD request) the headers still give the
    /// length the body would have (RFC 9110 §9.3.2) and the body is left out.
    public static func append(
        _ status: HTTPStatus, contentType: HTTPContentType?, body: some Collection<UInt8>,
        close: Bool, requestVersion: HTTPVersion = .http11, allow: StaticString? = nil,
        omitBody: Bool = false, extraHeaders: [UInt8] = [], to out: inout [UInt8]
    ) {
        appendHead(
            status, contentType: contentType, contentLength: body.count, close: close,
            requestVersion: requestVersion, allow: allow, extraHeaders: extraHeaders, to: &out)
        if !omitBody { out.append(contentsOf: body) }
    }

    /// Appends an error response with the one-line JSON body `{"error":"message"}` of SPEC §7.
    /// A 4xx/5xx the parser produced must be sent with `close: true`.
    public static func appendError(
        _ status: HTTPStatus, message: some StringProtocol, close: Bool,
        requestVersion: HTTPVersion = .http11, allow: StaticString? = nil,
        omitBody: Bool = false, extraHeaders: [UInt8] = [], to out: inout [UInt8]
    ) {
        let bodyLength = errorBodyPrefix.count + HTTPJSONString.encodedCount(message) + 1
        appendHead(
            status, contentType: .json, contentLength: bodyLength, close: close,
            requestVersion: requestVersion, allow: allow, extraHeaders: extraHeaders, to: &out)
        if !omitBody { appendErrorBody(message: message, to: &out) }
    }

    /// Appends just `{"error":"message"}`, escaped.
    public static func appendErrorBody(message: some StringProtocol, to out: inout [UInt8]) {
        out.append(contentsOf: errorBodyPrefix)
        HTTPJSONString.append(message, to: &out)
        out.append(0x7D)  // "}"
    }

    private static let errorBodyPrefix: [UInt8] = Array(#"{"error":"#.utf8)

    /// A default message for each error status, for callers with nothing more specific.
    public static func defaultMessage(for status: HTTPStatus) -> String {
        switch status {
        case .badRequest: "bad request"
        case .unauthorized: "authentication required"
        case .forbidden: "forbidden"
        case .notFound: "not found"
        case .methodNotAllowed: "method not allowed"
        case .requestTimeout: "request timeout"
        case .gone: "gone"
        case .lengthRequired: "length required"
        case .contentTooLarge: "request body too large"
        case .requestHeaderFieldsTooLarge: "request header fields too large"
        case .httpVersionNotSupported: "HTTP version not supported"
        case .serviceUnavailable: "journal unavailable"
        case .internalServerError: "internal server error"
        case .unprocessableContent: "unprocessable content"
        case .continue, .ok: status.reasonPhrase
        }
    }
}

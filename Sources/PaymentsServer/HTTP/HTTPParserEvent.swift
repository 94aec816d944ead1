// What HTTPRequestParser.next() reports to the server.

/// What the parser has for the server after `next()`.
public enum HTTPParserEvent: Sendable, Hashable {
    /// A complete request, body included. Call `next()` again: more may be buffered
    /// (pipelining).
    case request(HTTPRequest)
    /// The head of a request carrying `Expect: 100-continue` is complete and none of its body
    /// has arrived: the client waits for `HTTP/1.1 100 Continue\r\n\r\n`
    /// (`HTTPResponse.continueBytes`). Queue it in response order, i.e. after the responses to
    /// earlier pipelined requests: a 100 written before them would be taken as theirs.
    /// Returned at most once per request, never for HTTP/1.0, never for a body already refused
    /// (413/411 come as `.error` instead); then keep calling `next()` as usual.
    case sendContinue
    /// Everything buffered has been consumed; feed more bytes.
    case needMoreData
    /// The input is refused with this status (400, 411, 413, 431, 505). The parser is dead from
    /// now on (every `next()` repeats this): reply with the status and close the connection.
    case error(HTTPStatus)
}

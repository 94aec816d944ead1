// PaymentsRedis: a small client for the Redis serialization protocol (RESP2), ours, for
// `paymentsctl mirror`. The pieces: `RESPValue` (a reply), `RESPReader` (replies parsed from
// bytes in any chunking), `RESPCommand` (commands encoded for pipelining), `RedisURL`
// (`redis://[:password@]HOST:PORT[/DB]`) and `RedisConnection` (a socket with time limits).

/// One reply from a Redis server, as RESP2 frames it.
public enum RESPValue: Equatable, Sendable, CustomStringConvertible {
    /// `+OK`
    case simple(String)
    /// `-ERR unknown command`: the server refused the command (the text names why).
    case error(String)
    /// `:1`
    case integer(Int64)
    /// `$3 foo`; nil for the null bulk string `$-1` (a missing key).
    case bulk([UInt8]?)
    /// `*2 ...`; nil for the null array `*-1` (an `EXEC` whose `WATCH` failed).
    case array([RESPValue]?)

    /// The bulk string as text, nil for anything else or a null.
    public var text: String? {
        if case .bulk(let bytes?) = self { return String(decoding: bytes, as: UTF8.self) }
        if case .simple(let text) = self { return text }
        return nil
    }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// Readable, one line: `OK`, `(error) ERR ...`, `(integer) 1`, `"foo"`, `(nil)`, `[...]`.
    public var description: String {
        switch self {
        case .simple(let text): return text
        case .error(let text): return "(error) \(text)"
        case .integer(let value): return "(integer) \(value)"
        case .bulk(nil), .array(nil): return "(nil)"
        case .bulk(let bytes?): return "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .array(let items?): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

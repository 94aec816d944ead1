// The bounds the request parser enforces; each maps to the status SPEC §7 names.

/// Limits of one request. A request over a limit is refused with a status and the connection
/// is then closed, so the parser never holds more than these many bytes of one request.
public struct HTTPParserLimits: Sendable, Hashable {
    /// Request line plus header fields plus their line ends, as nginx counts its header
    /// buffers: a huge target is the same attack as a huge header. Over it: 431.
    /// The same budget bounds the trailer section of a chunked body.
    public static let defaultMaxHeaderBytes = 8 * 1024
    /// Decoded body bytes (after de-chunking). Over it: 413, before the body is read
    /// when `Content-Length` already says so.
    public static let defaultMaxBodyBytes = 16 * 1024 * 1024
    /// A chunk-size line is a hex number plus extensions we ignore; anything longer is an
    /// attack or garbage: 400.
    public static let maxChunkSizeLineBytes = 1024
    /// Bytes reserved up front for a body: a client that declares 16 MiB and sends nothing
    /// must not make us allocate 16 MiB.
    public static let bodyReserveBytes = 64 * 1024
    /// Header offsets are stored in 32 bits; no sane limit comes near this.
    public static let maxSupportedHeaderBytes = 1 << 30

    public var maxHeaderBytes: Int
    public var maxBodyBytes: Int
    /// RFC 9112 §3.2: an HTTP/1.1 request without `Host` is a 400. On by default; tests of
    /// other layers that write bare requests may switch it off.
    public var requireHostInHTTP11: Bool

    public init(
        maxHeaderBytes: Int = defaultMaxHeaderBytes,
        maxBodyBytes: Int = defaultMaxBodyBytes,
        requireHostInHTTP11: Bool = true
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.requireHostInHTTP11 = requireHostInHTTP11
    }
}

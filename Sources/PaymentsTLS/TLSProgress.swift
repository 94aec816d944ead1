/// How far a handshake or shutdown got on a non-blocking socket: done, or waiting until the
/// socket is readable or writable (then call again). A handshake may want to write while
/// reading and the other way round: follow what it says, not what the caller was doing.
public enum TLSProgress: Equatable, Sendable {
    case done, wantRead, wantWrite
}

/// What one `TLSSession.read` brought.
public enum TLSReadResult: Equatable, Sendable {
    /// Decrypted bytes at the start of the buffer.
    case bytes(Int)
    /// Nothing yet: call again once the socket is readable (or writable, for `wantWrite`).
    case wantRead, wantWrite
    /// The peer sent close_notify: a clean end of its input. Writing is still allowed.
    case closeNotify
    /// TCP closed without close_notify: the input may have been cut short.
    case eof
}

/// What one `TLSSession.write` did.
public enum TLSWriteResult: Equatable, Sendable {
    /// This many bytes from the start of the buffer were taken (at least one).
    case wrote(Int)
    /// Nothing was taken: call again with the same bytes first once the socket is readable
    /// (or writable, for `wantWrite`).
    case wantRead, wantWrite
}

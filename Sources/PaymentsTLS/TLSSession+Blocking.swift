import PaymentsPlatform

/// The same session on a blocking socket, for a client such as `paymentsctl`. With
/// `SO_RCVTIMEO`/`SO_SNDTIMEO` on the socket, a wait past the limit throws `.timedOut` (OpenSSL
/// sees `EAGAIN` and asks to wait: on a blocking socket that only happens at the time limit).
/// As for every `TLSSession`, the process ignores `SIGPIPE` first (`Signals.ignoreBrokenPipe()`).
extension TLSSession {
    /// Starts TLS as a client on a connected blocking socket and finishes the handshake: the
    /// server's certificate is verified and must name `host`.
    public static func connectBlocking(
        fd: FileDescriptor, context: TLSContext, host: String
    ) throws(TLSError) -> TLSSession {
        let session = try connecting(fd, context: context, host: host)
        guard try session.handshake() == .done else { throw .timedOut("handshake with \(host)") }
        return session
    }

    /// Reads at least one byte, or returns 0 at the end of the server's output (close_notify,
    /// or TCP closed without it).
    public func readBlocking(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        switch try read(into: buffer) {
        case .bytes(let count): return count
        case .closeNotify, .eof: return 0
        case .wantRead, .wantWrite: throw .timedOut("read from \(descriptor.label ?? "the server")")
        }
    }

    /// Writes every byte, looping over partial writes.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        var done = 0
        while done < bytes.count {
            switch try write(UnsafeRawBufferPointer(rebasing: bytes[done...])) {
            case .wrote(let count): done += count
            case .wantRead, .wantWrite: throw .timedOut("write to \(descriptor.label ?? "the server")")
            }
        }
    }

    /// Writes every byte of an array.
    public func writeAll(_ bytes: [UInt8]) throws(TLSError) {
        let result: Result<Void, TLSError> = bytes.withUnsafeBytes { raw in
            do throws(TLSError) { try writeAll(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Sends close_notify (the end of the client's input, SPEC §9), without waiting for the server's.
    public func shutdownBlocking() throws(TLSError) {
        guard try shutdown() == .done else { throw .timedOut("close_notify to \(descriptor.label ?? "the server")") }
    }
}

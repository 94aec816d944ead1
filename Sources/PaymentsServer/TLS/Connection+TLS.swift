import PaymentsPlatform
import PaymentsTLS

/// A connection on a TLS listener: the handshake runs on the loop like any other I/O (a slow
/// client never stalls the others), reads and writes go through the session, and the end is
/// a close_notify after the last reply, never a reset with replies unsent (§9).
extension Connection {
    /// Advances the handshake; once done, reads what the client may already have sent.
    func continueHandshake() {
        guard let tls else { return }
        if !sawTLSRecord {
            switch firstByteIsTLS() {
            case nil: return loop.markDirty(self)
            case false?:
                loop.tlsHandshakeFailures += 1
                abortRequested = true
                refusePlainText()
                return loop.markDirty(self)
            case true?: sawTLSRecord = true
            }
        }
        do throws(TLSError) {
            switch try tls.handshake() {
            case .done:
                handshakeWaitsFor = nil
                loop.handshakeFinished(self)
                if wantsRead { readInput() }
            case .wantRead: handshakeWaitsFor = .readable
            case .wantWrite: handshakeWaitsFor = .writable
            }
        } catch {
            loop.tlsHandshakeFailures += 1
            loop.log(.debug, "connection \(id) on \(listener.displayName): TLS handshake: \(error)")
            abortRequested = true
        }
        loop.markDirty(self)
    }

    /// Whether the client's first byte opens a TLS handshake record (22); nil until one came.
    /// A client speaking plain text to a TLS port (`nc`, `curl http://`) is told so in plain
    /// text before the close, instead of seeing the connection drop without a word.
    private func firstByteIsTLS() -> Bool? {
        var closed = false
        do throws(SystemError) {
            guard let byte = try descriptor.peekByte(peerClosed: &closed) else {
                if closed { abortRequested = true }
                return nil
            }
            return byte == 0x16
        } catch {
            abortRequested = true
            return nil
        }
    }

    /// Reads what the plain-text client sent (closing with it unread would reset the
    /// connection, and the client could lose the reply), answers, and ends our side.
    private func refusePlainText() {
        var discard = [UInt8](repeating: 0, count: 4096)
        _ = discard.withUnsafeMutableBytes { raw in try? descriptor.read(into: raw) }
        listener.configuration.plainTextOnTLSReply.withUnsafeBytes { _ = try? descriptor.sendOnce($0) }
        try? descriptor.shutdown(.write)
    }

    /// Fills `space` from the session: one TLS record is at most 16 KiB, so one `SSL_read` per
    /// readiness event would read a quarter of what a plain read takes; reading on until OpenSSL
    /// wants the socket again keeps a TLS connection's batches as large as a plain one's.
    /// Nil when nothing came (the session waits for the socket); 0 at the end of input.
    func readTLS(_ tls: TLSSession, into space: UnsafeMutableRawBufferPointer) -> Int? {
        if tlsInputEnded { return 0 }
        var filled = 0
        while filled < space.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: space[filled...])
            do throws(TLSError) {
                switch try tls.read(into: rest) {
                case .bytes(let count):
                    filled += count
                    continue
                case .wantRead: break
                case .wantWrite: tlsReadWaitsForWritable = true
                case .closeNotify, .eof:
                    // The bytes before the end are delivered first; the end comes with the next read.
                    tlsInputEnded = true
                    if filled == 0 { return 0 }
                }
            } catch {
                loop.log(.debug, "connection \(id) on \(listener.displayName): TLS read: \(error)")
                if filled == 0 {
                    abortRequested = true
                    return nil
                }
            }
            break
        }
        return filled > 0 ? filled : nil
    }

    /// Decrypted bytes OpenSSL holds that epoll cannot report: read them without waiting.
    var hasBufferedTLSInput: Bool { tls.map { handshakeWaitsFor == nil && (tlsInputEnded || $0.pendingBytes > 0) } ?? false }

    /// Sends close_notify before the descriptor closes, when the session is in a state to.
    /// Best effort: every reply is already written, and a peer that went away needs nothing.
    func shutdownTLS() {
        guard let tls, handshakeWaitsFor == nil, !abortRequested, !peerHungUp else { return }
        _ = try? tls.shutdown()
    }
}

extension OutputBuffer {
    /// Writes released bytes through a TLS session until done or the socket would block.
    /// `readable` is set when OpenSSL must read before it can write again.
    func flush(through tls: TLSSession, needsReadable: inout Bool) throws(TLSError) -> FlushResult {
        try flush { bytes throws(TLSError) in
            switch try tls.write(bytes) {
            case .wrote(let count): return count
            case .wantWrite: return nil
            case .wantRead:
                needsReadable = true
                return nil
            }
        }
    }
}

import Glibc
import PaymentsPlatform
import PaymentsTLS

/// A connection to paymentsd, with the reply stream read line by line.
final class DaemonConnection {
    /// One read from the socket.
    static let readChunkBytes = 64 << 10
    let target: SocketAddress
    let fd: FileDescriptor
    /// TLS over `fd` (`--tls`, TCP targets); nil for plain connections.
    let tls: TLSSession?
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: readChunkBytes)
    private var head = 0
    private(set) var reachedEnd = false
    /// Lines taken from the stream so far: the daemon's refusal at its connection limit can
    /// only be the first.
    private(set) var linesTaken = 0
    /// A reply line longer than this is not paymentsd's (its longest, a `STATS` line or a JSON
    /// account, are a few hundred bytes): reading stops instead of buffering without end.
    static let maxReplyLineBytes = 1 << 20
    /// The start of a line that passed `maxReplyLineBytes` without a newline.
    private(set) var overlongLine: String?

    /// How long connecting may take: a host that drops packets must not hang a command.
    static let connectTimeoutMilliseconds: Int32 = 5_000
    /// How long the TLS handshake and the reply to `AUTH` may take.
    static let handshakeTimeoutSeconds = 10

    /// Connects (blocking), then starts TLS and sends the token as `ClientSecurity.current`
    /// says; the error says why not, `explain` words it for people.
    init(_ target: SocketAddress) throws(ConnectError) {
        self.target = target
        do throws(SystemError) {
            fd = try Socket.connect(to: target, timeoutMilliseconds: Self.connectTimeoutMilliseconds)
        } catch {
            throw .system(error)
        }
        let security = ClientSecurity.current
        if let context = security.tls, !target.isUnix {
            try? fd.setTimeouts(milliseconds: Self.handshakeTimeoutSeconds * 1000)
            do throws(TLSError) {
                tls = try TLSSession.connectBlocking(fd: fd, context: context, host: security.hostName(for: target))
            } catch {
                try? fd.close()
                throw .tls(error)
            }
            try? fd.setTimeouts(milliseconds: 0)
        } else {
            tls = nil
        }
        if let token = security.token {
            do throws(ConnectError) { try authenticate(token) } catch {
                close()
                throw error
            }
        }
    }

    /// `AUTH <token>` first (§9). A listener without tokens says AUTH is not needed: fine. A
    /// refusal at the connection limit is left unread for the command to report as usual.
    private func authenticate(_ token: [UInt8]) throws(ConnectError) {
        do throws(SystemError) { try send(bytes: Array("AUTH ".utf8) + token + [0x0A]) } catch { throw .system(error) }
        switch readLine(within: UInt64(Self.handshakeTimeoutSeconds) * 1000, maxBytes: 4096) {
        case .line(let reply):
            let text = String(decoding: reply, as: UTF8.self)
            if text == "OK" || text.hasPrefix("ERR no tokens on this listener") { return }
            if text == refusalLine { return unread(reply) }
            if text == "ERR auth failed" { throw .auth("the token was refused (ERR auth failed)") }
            if text.hasPrefix("ERR this port speaks TLS") { throw .auth("the daemon speaks TLS on this port: add --tls") }
            throw .auth("unexpected reply to AUTH: \"\(quotedReply(text))\"")
        case .closed: throw .auth("the daemon closed the connection without answering AUTH")
        case .timedOut: throw .auth("no answer to AUTH within \(Self.handshakeTimeoutSeconds) s")
        case .tooLong: throw .auth("unexpected reply to AUTH (over 4096 bytes without a newline)")
        case .failed(let error): throw .system(error)
        }
    }

    /// Puts the line just taken back, as if it had not been read.
    private func unread(_ line: ArraySlice<UInt8>) {
        head = line.startIndex
        linesTaken -= 1
    }

    /// Why connecting to `target` failed, for people.
    static func explain(_ error: ConnectError, _ target: SocketAddress) -> String {
        switch error {
        case .system(let error): return explain(error, target)
        case .tls(let error): return "TLS: \(error)"
        case .auth(let reason): return reason
        }
    }

    /// A path that is a regular file or a directory refuses like a socket nobody listens on,
    /// but the mistake is another one.
    static func explain(_ error: SystemError, _ target: SocketAddress) -> String {
        if error.isConnectionRefused, case .unix(let path) = target {
            if FileSystem.regularFileSize(path) != nil { return "not a socket (a regular file; is this the daemon's --unix path?)" }
            if FileSystem.isDirectory(path) { return "not a socket (a directory)" }
        }
        if error.isConnectionRefused { return "no daemon is listening (connection refused)" }
        if error.isNoSuchFile { return "no such socket (is paymentsd running?)" }
        return error.message
    }

    /// Sends one request line and closes our sending side: the daemon answers it and then
    /// closes, so a reply that never ends cannot hang us. A failure is returned, not
    /// reported: a daemon that refused the connection said why, and that is in the replies.
    func request(_ line: String) -> SystemError? {
        do throws(SystemError) {
            try send(line)
            try endOutput()
            return nil
        } catch {
            return error
        }
    }

    /// Sends one request line and keeps the connection open for more.
    func send(_ line: String) throws(SystemError) {
        try send(bytes: Array((line + "\n").utf8))
    }

    /// Sends every byte (blocking).
    func send(bytes: [UInt8]) throws(SystemError) {
        let sent: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) {
                var done = 0
                while done < raw.count {
                    guard let count = try sendSome(UnsafeRawBufferPointer(rebasing: raw[done...])) else {
                        throw SystemError(call: "send", subject: target.description, errno: EAGAIN)
                    }
                    done += count
                }
                return .success(())
            } catch { return .failure(error) }
        }
        try sent.get()
    }

    /// Sends what the socket takes now; nil when it would block (a non-blocking socket).
    func sendSome(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        guard let tls else {
            do throws(SystemError) { return try fd.sendOnce(bytes) } catch where error.isWouldBlock { return nil }
        }
        do throws(TLSError) {
            switch try tls.write(bytes) {
            case .wrote(let count): return count
            case .wantRead, .wantWrite: return nil
            }
        } catch {
            throw Self.lost(error, "send")
        }
    }

    /// Our side is done sending: the daemon answers what it has and closes (`shutdown`, or
    /// TLS's close_notify, which the daemon takes as the end of input).
    func endOutput() throws(SystemError) {
        guard let tls else { return try fd.shutdown(.write) }
        do throws(TLSError) { _ = try tls.shutdown() } catch { throw Self.lost(error, "close_notify") }
    }

    /// A TLS failure mid-stream ends the connection like a reset does.
    private static func lost(_ error: TLSError, _ call: String) -> SystemError {
        SystemError(call: "TLS \(call)", subject: "\(error)", errno: ECONNRESET)
    }

    /// Reads once into `raw`: the byte count, 0 at the end of the stream, nil when nothing
    /// came yet (a non-blocking socket, or TLS waiting for the rest of a record).
    func readSome(into raw: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        guard let tls else {
            do throws(SystemError) { return try fd.read(into: raw) } catch where error.isWouldBlock { return nil }
        }
        // One TLS record is at most 16 KiB: read on while OpenSSL has bytes, up to the buffer.
        var filled = 0
        while filled < raw.count {
            do throws(TLSError) {
                switch try tls.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...])) {
                case .bytes(let count):
                    filled += count
                    if tls.pendingBytes == 0 && !Self.hasInput(fd) { return filled }
                    continue
                case .closeNotify, .eof: if filled == 0 { return 0 }
                case .wantRead, .wantWrite: if filled == 0 { return nil }
                }
            } catch {
                if filled == 0 { throw Self.lost(error, "read") }
            }
            break
        }
        return filled
    }

    /// Bytes read past the last line taken (a stream that began right after a reply).
    var hasUnreadBytes: Bool { head < buffer.count }

    /// Hands over the bytes read past the last line taken, for a reader of its own.
    func takeUnreadBytes() -> ArraySlice<UInt8> {
        defer {
            buffer.removeAll()
            head = 0
        }
        return buffer[head...]
    }

    /// Whether a read of `fd` would find something now (a poll that does not wait).
    private static func hasInput(_ fd: FileDescriptor) -> Bool {
        var entries = [PollEntry(fd, read: true, write: false)]
        return (try? Poll.wait(&entries, timeoutMilliseconds: 0)) != nil && (entries[0].isReadable || entries[0].isBroken)
    }

    /// Decrypted bytes waiting inside OpenSSL, which `poll` cannot see.
    var hasBufferedInput: Bool { (tls?.pendingBytes ?? 0) > 0 }

    /// The next reply line without its newline, or nil when the daemon closed the connection
    /// or a line passed `maxReplyLineBytes` (`overlongLine` then says so).
    func readLine() -> ArraySlice<UInt8>? {
        while true {
            if let line = takeLine() { return line }
            if reachedEnd || isOverlong() { return nil }
            fill()
        }
    }

    /// Whether the partial line buffered is over `maxReplyLineBytes`; its start is then kept
    /// in `overlongLine`.
    func isOverlong() -> Bool {
        guard buffer.count - head > Self.maxReplyLineBytes else { return false }
        overlongLine = String(decoding: buffer[head..<head + quotedReplyCharacters * 2], as: UTF8.self)
        return true
    }

    /// A complete line already buffered, or nil. Its bytes stay valid until the next fill.
    func takeLine() -> ArraySlice<UInt8>? {
        guard let newline = buffer[head...].firstIndex(of: 0x0A) else { return nil }
        var end = newline
        if end > head && buffer[end - 1] == 0x0D { end -= 1 }
        let line = buffer[head..<end]
        head = newline + 1
        linesTaken += 1
        return line
    }

    /// Reads once (blocking unless the socket was made non-blocking); false on `EAGAIN`.
    /// A read error other than the peer going away ends the program.
    @discardableResult
    func fill() -> Bool {
        do throws(SystemError) { return try receive() } catch {
            fail("cannot read from \(target): \(error.message)")
        }
    }

    /// Reads once; false on `EAGAIN`. A reset counts as the end of the stream. The read goes
    /// to a chunk allocated once and only what arrived is appended: a five-byte `PONG` costs
    /// no 64 KiB of zeroing (`--latency` measures the daemon, not this buffer).
    private func receive() throws(SystemError) -> Bool {
        if head > 0 && head >= buffer.count / 2 {
            buffer.removeFirst(head)
            head = 0
        }
        let result: Result<Int?, SystemError> = chunk.withUnsafeMutableBytes { raw in
            do throws(SystemError) { return .success(try readSome(into: raw)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let count?):
            buffer.append(contentsOf: chunk[..<count])
            if count == 0 { reachedEnd = true }
            return true
        case .success(nil): return false
        case .failure(let error):
            if error.isPeerGone { reachedEnd = true; return true }
            throw error
        }
    }

    /// What waiting for one reply line with a time limit gave.
    enum TimedLine {
        case line(ArraySlice<UInt8>)
        /// The daemon closed the connection before a whole line.
        case closed
        /// No whole line within the time, or more than the allowed bytes without a newline.
        case timedOut, tooLong
        case failed(SystemError)
    }

    /// The next reply line, waiting at most `milliseconds` in all (poll before every read) and
    /// buffering at most `maxBytes` without a newline: a daemon that is stopped, or a server
    /// that is not paymentsd, cannot hang us or fill our memory.
    func readLine(within milliseconds: UInt64, maxBytes: Int) -> TimedLine {
        let deadline = MonotonicClock.milliseconds() + milliseconds
        while true {
            if let line = takeLine() { return .line(line) }
            if reachedEnd { return .closed }
            if buffer.count - head > maxBytes { return .tooLong }
            let now = MonotonicClock.milliseconds()
            guard now < deadline else { return .timedOut }
            var entries = [PollEntry(fd, read: true, write: false)]
            do throws(SystemError) {
                if !hasBufferedInput { try Poll.wait(&entries, timeoutMilliseconds: Int32(clamping: deadline - now)) }
                if hasBufferedInput || entries[0].isReadable || entries[0].isBroken { _ = try receive() }
            } catch {
                return .failed(error)
            }
        }
    }

    func close() { try? fd.close() }
}

import PaymentsPlatform

/// A connection to paymentsd, with the reply stream read line by line.
final class DaemonConnection {
    /// One read from the socket.
    static let readChunkBytes = 64 << 10
    let target: SocketAddress
    let fd: FileDescriptor
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

    /// Connects (blocking); the error says why not, `explain` words it for people.
    init(_ target: SocketAddress) throws(SystemError) {
        self.target = target
        fd = try Socket.connect(to: target)
    }

    /// Why connecting to `target` failed, for people. A path that is a regular file or a
    /// directory refuses like a socket nobody listens on, but the mistake is another one.
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
            try fd.shutdown(.write)
            return nil
        } catch {
            return error
        }
    }

    /// Sends one request line and keeps the connection open for more.
    func send(_ line: String) throws(SystemError) {
        let bytes = Array((line + "\n").utf8)
        let sent: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) {
                var done = 0
                while done < raw.count { done += try fd.sendOnce(UnsafeRawBufferPointer(rebasing: raw[done...])) }
                return .success(())
            } catch { return .failure(error) }
        }
        try sent.get()
    }

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
        let fd = self.fd
        let result: Result<Int, SystemError> = chunk.withUnsafeMutableBytes { raw in
            do throws(SystemError) { return .success(try fd.read(into: raw)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let count):
            buffer.append(contentsOf: chunk[..<count])
            if count == 0 { reachedEnd = true }
            return true
        case .failure(let error):
            if error.isWouldBlock { return false }
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
                try Poll.wait(&entries, timeoutMilliseconds: Int32(clamping: deadline - now))
                if entries[0].isReadable || entries[0].isBroken { _ = try receive() }
            } catch {
                return .failed(error)
            }
        }
    }

    func close() { try? fd.close() }
}

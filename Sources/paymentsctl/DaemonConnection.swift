import PaymentsPlatform

/// A connection to paymentsd, with the reply stream read line by line.
final class DaemonConnection {
    /// One read from the socket.
    static let readChunkBytes = 64 << 10
    let target: SocketAddress
    let fd: FileDescriptor
    private var buffer: [UInt8] = []
    private var head = 0
    private(set) var reachedEnd = false

    /// Connects, turning the usual failures into one line for people.
    init(_ target: SocketAddress) {
        self.target = target
        do throws(SystemError) {
            fd = try Socket.connect(to: target)
        } catch {
            fail("cannot connect to \(target): \(Self.explain(error))")
        }
    }

    static func explain(_ error: SystemError) -> String {
        if error.isConnectionRefused { return "no daemon is listening (connection refused)" }
        if error.isNoSuchFile { return "no such socket (is paymentsd running?)" }
        return error.message
    }

    /// Sends one request line and closes our sending side: the daemon answers it and then
    /// closes, so a reply that never ends cannot hang us.
    func request(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        let sent: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) {
                var done = 0
                while done < raw.count { done += try fd.sendOnce(UnsafeRawBufferPointer(rebasing: raw[done...])) }
                try fd.shutdown(.write)
                return .success(())
            } catch { return .failure(error) }
        }
        if case .failure(let error) = sent {
            fail("cannot send to \(target): \(error.message)")
        }
    }

    /// The next reply line without its newline, or nil when the daemon closed the connection.
    func readLine() -> ArraySlice<UInt8>? {
        while true {
            if let line = takeLine() { return line }
            if reachedEnd { return nil }
            fill()
        }
    }

    /// A complete line already buffered, or nil. Its bytes stay valid until the next fill.
    func takeLine() -> ArraySlice<UInt8>? {
        guard let newline = buffer[head...].firstIndex(of: 0x0A) else { return nil }
        var end = newline
        if end > head && buffer[end - 1] == 0x0D { end -= 1 }
        let line = buffer[head..<end]
        head = newline + 1
        return line
    }

    /// Reads once (blocking unless the socket was made non-blocking); false on `EAGAIN`.
    @discardableResult
    func fill() -> Bool {
        if head > 0 && head >= buffer.count / 2 {
            buffer.removeFirst(head)
            head = 0
        }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Self.readChunkBytes))
        let result: Result<Int, SystemError> = buffer.withUnsafeMutableBytes { raw in
            do throws(SystemError) {
                return .success(try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...])))
            } catch { return .failure(error) }
        }
        switch result {
        case .success(let count):
            buffer.removeLast(Self.readChunkBytes - count)
            if count == 0 { reachedEnd = true }
            return true
        case .failure(let error):
            buffer.removeLast(Self.readChunkBytes)
            if error.isWouldBlock { return false }
            if error.isPeerGone { reachedEnd = true; return true }
            fail("cannot read from \(target): \(error.message)")
        }
    }

    func close() { try? fd.close() }
}

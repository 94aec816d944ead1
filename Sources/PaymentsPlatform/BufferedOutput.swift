/// Output gathered in memory and written in large blocks: one `write` per `flushBytes`, not one
/// per line. A failed write is thrown, never ignored.
public struct BufferedOutput {
    public let fd: FileDescriptor
    public var bytes: [UInt8] = []
    let flushBytes: Int

    public init(_ fd: FileDescriptor, flushBytes: Int = 1 << 16) {
        self.fd = fd
        self.flushBytes = flushBytes
        bytes.reserveCapacity(flushBytes + 4096)
    }

    public mutating func write(_ text: String) throws(SystemError) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= flushBytes { try flush() }
    }

    /// Writes out what is gathered once it passes the threshold (call after appending to `bytes`).
    public mutating func flushIfFull() throws(SystemError) {
        if bytes.count >= flushBytes { try flush() }
    }

    public mutating func flush() throws(SystemError) {
        if bytes.isEmpty { return }
        try fd.writeAll(bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}

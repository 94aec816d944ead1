import PaymentsPlatform

/// A connection's reply bytes on their way to the socket.
///
/// Bytes are appended in reply order and written in that order, but only up to the *release
/// mark*: a daemon that must not acknowledge before the journal is durable appends each reply
/// at once (so order is free) and releases it when its records are synced. Positions are
/// absolute byte counts since the connection opened (`appendedBytes`), so a mark stays valid
/// while the buffer compacts.
///
/// Every pending byte, released or held, counts toward the high-water mark: above it the
/// connection stops being read (backpressure) until a flush brings it down to the low mark.
public final class OutputBuffer {
    /// Pending reply bytes above which a connection is no longer read: 1 MiB is tens of
    /// thousands of replies, enough to keep a pipelining client busy.
    public static let defaultHighWaterBytes = 1 << 20
    /// Reading resumes once pending bytes fall to this.
    public static let defaultLowWaterBytes = 256 << 10
    /// After a large reply (a DUMP) the buffer's memory is given back above this capacity.
    public static let retainedCapacityBytes = 256 << 10

    public let highWaterBytes: Int
    public let lowWaterBytes: Int
    private var bytes: [UInt8] = []
    /// `bytes[head...]` are not yet written.
    private var head = 0
    public private(set) var appendedBytes: UInt64 = 0
    public private(set) var releasedBytes: UInt64 = 0
    public private(set) var writtenBytes: UInt64 = 0

    /// The outcome of one flush attempt.
    public enum FlushResult: Equatable {
        /// Every released byte is written.
        case flushed
        /// The socket took what it could (`EAGAIN`): wait for it to be writable.
        case wouldBlock
    }

    public init(highWaterBytes: Int = defaultHighWaterBytes, lowWaterBytes: Int = defaultLowWaterBytes) {
        precondition(lowWaterBytes >= 0 && lowWaterBytes <= highWaterBytes, "low water above high water")
        self.highWaterBytes = highWaterBytes
        self.lowWaterBytes = lowWaterBytes
    }

    /// Bytes appended and not yet written, held ones included.
    public var pendingBytes: Int { Int(appendedBytes - writtenBytes) }
    /// Bytes released and not yet written: what a flush would try to write.
    public var flushableBytes: Int { Int(releasedBytes - writtenBytes) }
    public var isAboveHighWater: Bool { pendingBytes > highWaterBytes }
    public var isAtOrBelowLowWater: Bool { pendingBytes <= lowWaterBytes }

    public func append(_ data: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: data)
        appendedBytes += UInt64(data.count)
    }

    public func append(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
        appendedBytes += UInt64(data.count)
    }

    public func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public func append(byte: UInt8) {
        bytes.append(byte)
        appendedBytes += 1
    }

    /// Makes every byte before `mark` writable. Marks only move forward; a mark past the end
    /// is clamped to what was appended.
    public func release(upTo mark: UInt64) {
        releasedBytes = max(releasedBytes, min(mark, appendedBytes))
    }

    public func releaseAll() { releasedBytes = appendedBytes }

    /// Writes released bytes until they are all written or the socket would block.
    /// A failure (`EPIPE`, `ECONNRESET`) is thrown: the connection is gone.
    public func flush(to fd: FileDescriptor) throws(SystemError) -> FlushResult {
        try flush { bytes throws(SystemError) in
            do throws(SystemError) { return try fd.sendOnce(bytes) } catch where error.isWouldBlock { return nil }
        }
    }

    /// Hands released bytes to `write` (the socket, or a TLS session) until they are all
    /// taken or it returns nil (it would block); each call starts at the first unwritten byte.
    public func flush<E: Error>(_ write: (UnsafeRawBufferPointer) throws(E) -> Int?) throws(E) -> FlushResult {
        defer { compact() }
        while flushableBytes > 0 {
            let count = flushableBytes
            let written: Result<Int?, E> = bytes.withUnsafeBytes { raw in
                let slice = UnsafeRawBufferPointer(rebasing: raw[head..<(head + count)])
                do throws(E) { return .success(try write(slice)) } catch { return .failure(error) }
            }
            guard let n = try written.get() else { return .wouldBlock }
            head += n
            writtenBytes += UInt64(n)
        }
        return .flushed
    }

    /// Drops written bytes: all of them when the buffer is empty (keeping a modest capacity),
    /// else the written prefix once it is the larger part.
    private func compact() {
        if head == bytes.count {
            if bytes.capacity > Self.retainedCapacityBytes { bytes = [] } else { bytes.removeAll(keepingCapacity: true) }
            head = 0
        } else if head > bytes.count / 2 {
            bytes.removeFirst(head)
            head = 0
        }
    }
}

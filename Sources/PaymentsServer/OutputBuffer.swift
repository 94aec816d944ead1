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
    /// Capacity kept once everything is written (`retainedCapacityBytes`); a connection that
    /// streams (the change stream) keeps what its steady flow needs instead of reallocating it.
    public var retainedCapacity = OutputBuffer.retainedCapacityBytes
    /// `storage[head..<count]` are not yet written; `capacity` bytes are allocated. Raw memory
    /// rather than an array so that a caller can render straight into it (`append(atMost:)`).
    private var storage: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    private var count = 0
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

    deinit { storage?.deallocate() }

    /// Bytes appended and not yet written, held ones included.
    public var pendingBytes: Int { Int(appendedBytes - writtenBytes) }
    /// Bytes released and not yet written: what a flush would try to write.
    public var flushableBytes: Int { Int(releasedBytes - writtenBytes) }
    public var isAboveHighWater: Bool { pendingBytes > highWaterBytes }
    public var isAtOrBelowLowWater: Bool { pendingBytes <= lowWaterBytes }

    public func append(_ data: UnsafeRawBufferPointer) {
        guard let source = data.baseAddress, data.count > 0 else { return }
        reserve(data.count)
        UnsafeMutableRawPointer(storage! + count).copyMemory(from: source, byteCount: data.count)
        count += data.count
        appendedBytes += UInt64(data.count)
    }

    public func append(_ data: [UInt8]) {
        data.withUnsafeBytes { append($0) }
    }

    /// Lets `render` write at most `maxBytes` straight into the buffer, after what is there;
    /// it returns how many it wrote. No copy: the change stream renders its lines this way.
    public func append<E: Error>(
        atMost maxBytes: Int, _ render: (UnsafeMutablePointer<UInt8>) throws(E) -> Int
    ) throws(E) {
        reserve(maxBytes)
        let written = try render(storage! + count)
        precondition(written >= 0 && written <= maxBytes, "rendered past the room reserved")
        count += written
        appendedBytes += UInt64(written)
    }

    /// Puts `data` before the bytes appended since `mark`, none of which is released yet (a
    /// chunk's size ahead of the chunk, once the chunk is rendered).
    public func insert(_ data: [UInt8], at mark: UInt64) {
        precondition(mark >= releasedBytes && mark >= writtenBytes && mark <= appendedBytes, "insert before a released byte")
        guard !data.isEmpty else { return }
        reserve(data.count)
        let at = count - Int(appendedBytes - mark)
        let base = UnsafeMutableRawPointer(storage!)
        (base + at + data.count).copyMemory(from: base + at, byteCount: count - at)
        data.withUnsafeBytes { (base + at).copyMemory(from: $0.baseAddress!, byteCount: data.count) }
        count += data.count
        appendedBytes += UInt64(data.count)
    }

    public func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public func append(byte: UInt8) {
        reserve(1)
        storage![count] = byte
        count += 1
        appendedBytes += 1
    }

    /// Room for `extra` more bytes after `count`: the unwritten bytes moved to the front when
    /// that makes the room and they are no more than twice the written prefix (each byte moved
    /// is paid for by bytes written), else into a buffer at least twice as large.
    /// Allocates even for no room at all when nothing is allocated (after `compact` gave the
    /// memory back): `append(atMost: 0)` must still hand `render` a valid pointer.
    private func reserve(_ extra: Int) {
        guard storage == nil || count + extra > capacity else { return }
        let live = count - head
        if let storage, live + extra <= capacity, head >= live / 2 {
            UnsafeMutableRawPointer(storage).copyMemory(from: storage + head, byteCount: live)
        } else {
            let newCapacity = max(live + extra, 2 * capacity, 256)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            if let storage {
                bigger.update(from: storage + head, count: live)
                storage.deallocate()
            }
            storage = bigger
            capacity = newCapacity
        }
        count = live
        head = 0
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
            guard let n = try write(UnsafeRawBufferPointer(start: storage! + head, count: flushableBytes)) else {
                return .wouldBlock
            }
            precondition(n >= 0 && n <= flushableBytes, "wrote more than was handed over")
            head += n
            writtenBytes += UInt64(n)
        }
        return .flushed
    }

    /// Drops written bytes once they all are, giving the memory back above `retainedCapacity`.
    /// A written prefix before unwritten bytes stays until an append needs its room
    /// (`reserve`), so that bytes are moved at most once per fill of the buffer.
    private func compact() {
        guard head == count else { return }
        if capacity > retainedCapacity {
            storage?.deallocate()
            storage = nil
            capacity = 0
        }
        count = 0
        head = 0
    }
}

/// What a connection's input yields, in order. The buffers point into the framer's storage
/// and are valid only until the next call into the framer: parse or copy, never keep.
public enum InputEvent {
    /// One complete line without its `\n` or `\r\n`.
    case line(UnsafeRawBufferPointer)
    /// A line longer than the limit: reported once, its bytes skipped up to its newline.
    case tooLong
    /// Raw bytes, for listeners whose protocol does its own framing (`Framing.raw`).
    case bytes(UnsafeRawBufferPointer)
}

/// Incremental line splitting over one fixed buffer. Input arrives in any chunking; complete
/// lines are handed out as slices of the buffer (no copy, no allocation per line). A line
/// longer than `maxLineBytes` is never buffered beyond the limit: it yields one `.tooLong`
/// and the rest of it is dropped as it arrives.
///
/// Two ways in: `feed(_:_:)` copies bytes in (tests, in-memory input); a socket reader reads
/// straight into `writableSpace()` and calls `commit(_:)`, then pulls events with `next()`.
public final class LineFramer {
    /// The protocol's line limit (SPEC §5): longer lines are answered `ERR line too long`.
    public static let defaultMaxLineBytes = 4096
    /// How much one `read` can take; 64 KiB holds about 2,500 typical transaction lines.
    public static let defaultBufferBytes = 64 * 1024

    public let maxLineBytes: Int
    private let storage: UnsafeMutableRawBufferPointer
    /// Unconsumed bytes are `storage[start..<end]`; `[start..<scanned]` holds no newline.
    private var start = 0, end = 0, scanned = 0
    /// Inside a too-long line whose `.tooLong` was already yielded: drop bytes to its newline.
    private var skipping = false

    public init(maxLineBytes: Int = defaultMaxLineBytes, bufferBytes: Int = defaultBufferBytes) {
        // Room for a whole maximal line plus its CRLF twice over keeps `writableSpace()`
        // at least half the buffer after compaction.
        precondition(maxLineBytes > 0 && bufferBytes >= 2 * (maxLineBytes + 2), "framer buffer too small for its line limit")
        self.maxLineBytes = maxLineBytes
        storage = .allocate(byteCount: bufferBytes, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// True when bytes are buffered that `next()` or `finish()` has not handed out.
    public var hasBufferedInput: Bool { end > start && !skipping }

    /// The free tail of the buffer to read into. Call it only after `next()` returned nil
    /// (every complete line taken), so the remainder is under one line and space is ample.
    public func writableSpace() -> UnsafeMutableRawBufferPointer {
        compactIfNeeded()
        return UnsafeMutableRawBufferPointer(rebasing: storage[end...])
    }

    /// Records that `count` bytes were written at the start of `writableSpace()`.
    public func commit(_ count: Int) {
        precondition(count >= 0 && end + count <= storage.count, "framer commit beyond its buffer")
        end += count
    }

    /// The next complete line or `.tooLong`, or nil when more input is needed.
    public func next() -> InputEvent? {
        while true {
            if skipping {
                guard let newline = find(from: start) else { discardAll(); return nil }
                start = newline + 1
                scanned = start
                skipping = false
                continue
            }
            if let newline = find(from: max(scanned, start)) { return takeLine(endingAt: newline) }
            scanned = end
            if pendingIsTooLong() {
                discardAll()
                skipping = true
                return .tooLong
            }
            return nil
        }
    }

    /// At end of input: the last line if it had no newline, else nil. Resets the framer.
    public func finish() -> InputEvent? {
        defer { discardAll(); skipping = false }
        guard !skipping, end > start else { return nil }
        var lineEnd = end
        if storage[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        return .line(UnsafeRawBufferPointer(rebasing: storage[start..<lineEnd]))
    }

    /// Every buffered byte as one chunk, for raw framing; the framer is then empty.
    public func takeAll() -> InputEvent? {
        guard end > start else { return nil }
        let chunk = UnsafeRawBufferPointer(rebasing: storage[start..<end])
        discardAll()
        return .bytes(chunk)
    }

    /// Copies `bytes` in and hands out every event they complete, in order.
    public func feed(_ bytes: UnsafeRawBufferPointer, _ body: (InputEvent) -> Void) {
        var offset = 0
        while offset < bytes.count {
            let space = writableSpace()
            let count = min(space.count, bytes.count - offset)
            space.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            commit(count)
            offset += count
            while let event = next() { body(event) }
        }
    }

    private func takeLine(endingAt newline: Int) -> InputEvent {
        let lineStart = start
        var lineEnd = newline
        if lineEnd > lineStart && storage[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        start = newline + 1
        scanned = start
        if lineEnd - lineStart > maxLineBytes { return .tooLong }
        return .line(UnsafeRawBufferPointer(rebasing: storage[lineStart..<lineEnd]))
    }

    /// Without a newline yet, more than the limit is buffered. One extra byte is allowed when
    /// it is a `\r` that may turn out to be the first half of the line's CRLF.
    private func pendingIsTooLong() -> Bool {
        let pending = end - start
        if pending > maxLineBytes + 1 { return true }
        return pending == maxLineBytes + 1 && storage[end - 1] != 0x0D
    }

    /// The first `\n` in `offset..<end`. Eight bytes at a time: `(w - 0x01…) & ~w & 0x80…`
    /// flags the zero bytes of `w`, here the bytes equal to `\n` (the lowest flag is exact).
    @inline(__always)
    private func find(from offset: Int) -> Int? {
        var i = offset
        let base = UnsafeRawPointer(storage.baseAddress!)
        while i + 8 <= end {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
            let zero = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
            if zero != 0 { return i + zero.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end {
            if storage[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    private func discardAll() {
        start = 0
        end = 0
        scanned = 0
    }

    /// Moves the unfinished line to the front when less than half the buffer is free behind it.
    private func compactIfNeeded() {
        if start == end { discardAll(); return }
        guard start > 0, storage.count - end < storage.count / 2 else { return }
        let count = end - start
        storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: count)
        scanned -= start
        start = 0
        end = count
    }
}

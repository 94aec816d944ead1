/// Bytes read from a stream, cut into lines in place: a line is handed over as a pointer into
/// the buffer (no copy), without its `\n` (or `\r\n`); a partial last line waits for more.
public struct LineBuffer {
    /// A line longer than this without a newline is refused (a change-stream line is a few
    /// hundred bytes): the peer is not a paymentsd stream.
    public static let maxLineBytes = 1 << 20

    private var storage: [UInt8] = []
    private var head = 0

    public init() {}

    public var isEmpty: Bool { head == storage.count }
    /// Bytes of lines not yet taken, a partial last line included.
    public var pendingBytes: Int { storage.count - head }

    /// Whether the partial line buffered is over `maxLineBytes`.
    public var isOverlong: Bool { pendingBytes > Self.maxLineBytes && !storage[head...].contains(0x0A) }

    /// Appends what `read` put into `chunk`.
    public mutating func append(_ chunk: ArraySlice<UInt8>) {
        if head > 0 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        storage.append(contentsOf: chunk)
    }

    /// Hands each whole line to `body` in order until it returns false (that line is then
    /// taken too) or no whole line is left. Returns how many lines were taken.
    @discardableResult
    public mutating func takeLines(_ body: (UnsafeBufferPointer<UInt8>) throws -> Bool) rethrows -> Int {
        var taken = 0
        var position = head
        try storage.withUnsafeBufferPointer { all in
            while let newline = UnsafeBufferPointer(rebasing: all[position...]).firstIndex(of: 0x0A) {
                let lineEnd = position + newline
                var end = lineEnd
                if end > position && all[end - 1] == 0x0D { end -= 1 }
                let more = try body(UnsafeBufferPointer(rebasing: all[position..<end]))
                position = lineEnd + 1
                taken += 1
                if !more { break }
            }
        }
        head = position
        return taken
    }

    /// The first line without taking it, as text (for an `ERR` reply to `FOLLOW`); nil when
    /// no whole line is buffered.
    public func peekLine() -> String? {
        guard let newline = storage[head...].firstIndex(of: 0x0A) else { return nil }
        var end = newline
        if end > head && storage[end - 1] == 0x0D { end -= 1 }
        return String(decoding: storage[head..<end], as: UTF8.self)
    }

    /// Drops the first whole line.
    public mutating func dropLine() {
        if let newline = storage[head...].firstIndex(of: 0x0A) { head = newline + 1 }
    }

    public mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        head = 0
    }
}

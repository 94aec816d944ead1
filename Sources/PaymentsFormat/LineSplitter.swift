/// Cuts a byte stream into lines, whatever the sizes of the chunks it arrives in.
///
/// Complete lines inside a chunk are handed out in place (no copy); only a line that straddles
/// two chunks is carried over, and never more than `maxLineBytes` of it: a longer line is
/// reported once as `.tooLong` and its bytes are dropped up to its newline. The `\n` is removed;
/// a `\r` before it is left for the line parsers, which ignore it.
public struct LineSplitter {
    public enum Piece {
        case line(UnsafeRawBufferPointer)
        case tooLong
    }

    /// The contract's limit on one line (§5), applied to files as well as sockets.
    public static let defaultMaxLineBytes = 4096

    public let maxLineBytes: Int
    var carry: [UInt8] = []
    var discarding = false

    public init(maxLineBytes: Int = LineSplitter.defaultMaxLineBytes) {
        self.maxLineBytes = maxLineBytes
        carry.reserveCapacity(maxLineBytes)
    }

    /// Hands every line completed by `chunk` to `body`, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (Piece) -> Void) {
        var start = 0
        let n = chunk.count
        while start < n {
            let end = Self.newline(in: chunk, from: start)
            if end == n {
                keep(UnsafeRawBufferPointer(rebasing: chunk[start..<n]), body)
                return
            }
            let tail = UnsafeRawBufferPointer(rebasing: chunk[start..<end])
            if discarding {
                discarding = false
            } else if !carry.isEmpty {
                keep(tail, body)
                if discarding { discarding = false } else {
                    carry.withUnsafeBytes { body(.line($0)) }
                }
                carry.removeAll(keepingCapacity: true)
            } else if tail.count > maxLineBytes {
                body(.tooLong)
            } else {
                body(.line(tail))
            }
            start = end + 1
        }
    }

    /// The index of the first `\n` at or after `start`, or `chunk.count`. Eight bytes at a time:
    /// `(w - 0x01…) & ~w & 0x80…` flags the zero bytes of `w`, here the bytes equal to `\n`.
    @inline(__always)
    static func newline(in chunk: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        let n = chunk.count
        while i + 8 <= n {
            let w = chunk.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
            let zero = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
            if zero != 0 { return i + zero.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < n, chunk[i] != 0x0A { i += 1 }
        return i
    }

    /// Hands out the last line when the stream ended without a newline after it.
    public mutating func finish(_ body: (Piece) -> Void) {
        if !discarding && !carry.isEmpty { carry.withUnsafeBytes { body(.line($0)) } }
        carry.removeAll(keepingCapacity: true)
        discarding = false
    }

    /// Carries part of an unfinished line, or switches to discarding once it is too long.
    mutating func keep(_ part: UnsafeRawBufferPointer, _ body: (Piece) -> Void) {
        if discarding { return }
        if carry.count + part.count > maxLineBytes {
            carry.removeAll(keepingCapacity: true)
            discarding = true
            body(.tooLong)
            return
        }
        carry.append(contentsOf: part)
    }
}

/// A reply stream that is not RESP: the peer is not a Redis server, or it broke a limit.
public struct RESPProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Parses RESP2 replies out of a byte buffer that grows as bytes arrive: `next()` returns a
/// whole reply or nil when the buffer ends inside one (nothing is consumed then), so the
/// framing never depends on how the bytes were cut.
public struct RESPReader: Sendable {
    /// A bulk string longer than this is refused (Redis's own `proto-max-bulk-len` default).
    public static let maxBulkBytes = 512 << 20
    /// An array with more elements than this is refused.
    public static let maxArrayElements = 1 << 24
    /// A `+`, `-` or `:` line longer than this without its CRLF is refused.
    public static let maxLineBytes = 64 << 10
    /// Arrays nested deeper than this are refused (no reply of the commands we send nests).
    public static let maxDepth = 8

    private var buffer: [UInt8] = []
    private var head = 0

    public init() {}

    /// Bytes buffered and not yet taken as replies.
    public var pendingBytes: Int { buffer.count - head }

    /// Appends bytes read from the connection.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if head > 0 && head * 2 >= buffer.count {
            buffer.removeFirst(head)
            head = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole reply, or nil until more bytes arrive.
    public mutating func next() throws(RESPProtocolError) -> RESPValue? {
        let result: Result<(RESPValue, Int)?, RESPProtocolError> = buffer.withUnsafeBufferPointer { bytes in
            do throws(RESPProtocolError) {
                return .success(try Self.value(bytes, head, depth: 0))
            } catch { return .failure(error) }
        }
        guard let (value, end) = try result.get() else { return nil }
        head = end
        return value
    }

    /// The value starting at `start` and the index after it; nil when incomplete.
    private static func value(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, depth: Int
    ) throws(RESPProtocolError) -> (RESPValue, Int)? {
        guard start < bytes.count else { return nil }
        guard let (line, afterLine) = try Self.line(bytes, start + 1) else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "+"): return (.simple(text(bytes, line)), afterLine)
        case UInt8(ascii: "-"): return (.error(text(bytes, line)), afterLine)
        case UInt8(ascii: ":"): return (.integer(try integer(bytes, line)), afterLine)
        case UInt8(ascii: "$"):
            let length = try integer(bytes, line)
            if length == -1 { return (.bulk(nil), afterLine) }
            guard length >= 0, length <= maxBulkBytes else { throw RESPProtocolError("bulk length \(length) out of range") }
            let end = afterLine + Int(length)
            guard end + 2 <= bytes.count else { return nil }
            guard bytes[end] == 0x0D, bytes[end + 1] == 0x0A else { throw RESPProtocolError("bulk string without its CRLF") }
            return (.bulk(Array(bytes[afterLine..<end])), end + 2)
        case UInt8(ascii: "*"):
            let count = try integer(bytes, line)
            if count == -1 { return (.array(nil), afterLine) }
            guard count >= 0, count <= maxArrayElements else { throw RESPProtocolError("array length \(count) out of range") }
            guard depth < maxDepth else { throw RESPProtocolError("arrays nested deeper than \(maxDepth)") }
            var items: [RESPValue] = []
            items.reserveCapacity(Int(min(count, 1024)))
            var at = afterLine
            for _ in 0..<count {
                guard let (item, next) = try value(bytes, at, depth: depth + 1) else { return nil }
                items.append(item)
                at = next
            }
            return (.array(items), at)
        default:
            throw RESPProtocolError("unexpected byte \(bytes[start]) where a reply starts (not a Redis server?)")
        }
    }

    /// The range of the line starting at `from` (up to its CRLF) and the index after the CRLF.
    private static func line(
        _ bytes: UnsafeBufferPointer<UInt8>, _ from: Int
    ) throws(RESPProtocolError) -> (Range<Int>, Int)? {
        var index = from
        let limit = min(bytes.count, from + maxLineBytes + 1)
        while index < limit {
            if bytes[index] == 0x0A {
                guard index > from, bytes[index - 1] == 0x0D else { throw RESPProtocolError("line ended without CR") }
                return (from..<index - 1, index + 1)
            }
            index += 1
        }
        if limit < bytes.count || bytes.count - from > maxLineBytes {
            throw RESPProtocolError("reply line over \(maxLineBytes) bytes")
        }
        return nil
    }

    private static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// A signed decimal integer that fits in 64 bits.
    private static func integer(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(RESPProtocolError) -> Int64 {
        var index = range.lowerBound
        let negative = index < range.upperBound && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < range.upperBound else { throw RESPProtocolError("empty integer") }
        var value: Int64 = 0
        while index < range.upperBound {
            let digit = bytes[index] &- 48
            guard digit < 10 else { throw RESPProtocolError("not an integer: \"\(text(bytes, range))\"") }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { throw RESPProtocolError("integer out of range: \"\(text(bytes, range))\"") }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }
}

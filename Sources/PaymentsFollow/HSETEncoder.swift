/// One account's `HSET` in RESP, written through a pointer into a stack buffer and appended to
/// the batch's command buffer in one copy:
///
///     *12 $4 HSET $N account:<client> $6 client $N <client> $9 available $N <available>
///         $4 held $N <held> $5 total $N <total> $6 locked $4 true | $5 false
///
/// The field names and the fixed parts are precomputed fragments; the amounts are the bytes
/// of the stream line, exactly as the daemon wrote them (`ChangeLine` checked their form).
enum HSETEncoder {
    /// The most bytes one command takes: the fixed fragments (< 120 bytes), a client of at
    /// most 5 digits twice, three amounts of at most 21 bytes (`ChangeLine` refuses longer
    /// ones) with their length prefixes.
    static let maxBytes = 512

    static func append(_ account: ChangeLine.AccountFields, from line: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        precondition(account.available.count + account.held.count + account.total.count <= 3 * 32, "amount too long")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes) { scratch in
            var writer = ByteWriter(base: scratch.baseAddress!)
            let client = Int(account.client)
            let digits = decimalDigits(client)
            writer.put("*12\r\n$4\r\nHSET\r\n$")
            writer.putDecimal(8 + digits)
            writer.put("\r\naccount:")
            writer.putDecimal(client)
            writer.put("\r\n$6\r\nclient\r\n$")
            writer.putDecimal(digits)
            writer.put("\r\n")
            writer.putDecimal(client)
            writer.put("\r\n$9\r\navailable\r\n")
            writer.putBulk(UnsafeBufferPointer(rebasing: line[account.available]))
            writer.put("$4\r\nheld\r\n")
            writer.putBulk(UnsafeBufferPointer(rebasing: line[account.held]))
            writer.put("$5\r\ntotal\r\n")
            writer.putBulk(UnsafeBufferPointer(rebasing: line[account.total]))
            writer.put(account.locked ? "$6\r\nlocked\r\n$4\r\ntrue\r\n" : "$6\r\nlocked\r\n$5\r\nfalse\r\n")
            assert(writer.count <= maxBytes)
            out.append(contentsOf: UnsafeBufferPointer(start: scratch.baseAddress!, count: writer.count))
        }
    }

    @inline(__always)
    static func decimalDigits(_ value: Int) -> Int {
        value < 10 ? 1 : value < 100 ? 2 : value < 1_000 ? 3 : value < 10_000 ? 4 : value < 100_000 ? 5 : String(value).utf8.count
    }
}

/// Writes bytes through a pointer into a buffer the caller made big enough.
struct ByteWriter {
    let base: UnsafeMutablePointer<UInt8>
    var count = 0

    @inline(__always)
    mutating func put(_ text: StaticString) {
        (base + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    /// `$<length>\r\n<bytes>\r\n`.
    @inline(__always)
    mutating func putBulk(_ bytes: UnsafeBufferPointer<UInt8>) {
        base[count] = UInt8(ascii: "$")
        count += 1
        putDecimal(bytes.count)
        put("\r\n")
        if let start = bytes.baseAddress { (base + count).update(from: start, count: bytes.count) }
        count += bytes.count
        put("\r\n")
    }

    /// A non-negative integer in decimal.
    @inline(__always)
    mutating func putDecimal(_ value: Int) {
        let digits = HSETEncoder.decimalDigits(value)
        var rest = value
        var at = count + digits
        repeat {
            at -= 1
            base[at] = UInt8(truncatingIfNeeded: 48 + rest % 10)
            rest /= 10
        } while rest > 0
        count += digits
    }
}

/// Commands encoded as RESP arrays of bulk strings, appended to one buffer so that a whole
/// pipeline (`MULTI`, many `HSET`, `EXEC`) leaves in one write.
public enum RESPCommand {
    /// Appends `*N` for a command of `count` arguments (the command's name included); each
    /// argument then follows with `appendArgument`.
    @inline(__always)
    public static func appendHeader(_ count: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        appendDecimal(UInt64(count), to: &out)
        out.append(0x0D); out.append(0x0A)
    }

    /// Appends one argument: `$len\r\nbytes\r\n`.
    @inline(__always)
    public static func appendArgument(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "$"))
        appendDecimal(UInt64(bytes.count), to: &out)
        out.append(0x0D); out.append(0x0A)
        out.append(contentsOf: bytes)
        out.append(0x0D); out.append(0x0A)
    }

    /// Appends one argument given as text.
    public static func appendArgument(_ text: String, to out: inout [UInt8]) {
        appendArgument(Array(text.utf8), to: &out)
    }

    /// Appends one argument that is a decimal number, written without allocating.
    public static func appendArgument(decimal value: UInt64, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let count = withUnsafeMutableBytes(of: &digits) { raw in
            var v = value, n = 0
            repeat { raw[19 - n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            return n
        }
        withUnsafeBytes(of: &digits) { raw in appendArgument(raw[(20 - count)...], to: &out) }
    }

    /// Appends a whole command: `["SET", "k", "v"]`.
    public static func append(_ arguments: [String], to out: inout [UInt8]) {
        appendHeader(arguments.count, to: &out)
        for argument in arguments { appendArgument(argument, to: &out) }
    }

    /// A whole command as bytes.
    public static func encode(_ arguments: [String]) -> [UInt8] {
        var out: [UInt8] = []
        append(arguments, to: &out)
        return out
    }

    @inline(__always)
    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 { out.append(UInt8(48 + value)); return }
        appendDecimal(value / 10, to: &out)
        out.append(UInt8(48 + value % 10))
    }
}

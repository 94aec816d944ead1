/// One input line, CSV or JSON: a line whose first non-blank byte is `{` is JSON (§1).
public enum TransactionLine {
    /// Parses a line without its `\n` (a trailing `\r` is allowed).
    @inlinable
    public static func parse(_ line: UnsafeRawBufferPointer) -> ParsedLine {
        var i = 0
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        if i < line.count, line[i] == UInt8(ascii: "{") { return JSONLine.parse(line) }
        return CSVLine.parse(line)
    }

    /// Parses a line held in a `String` (tests, tools).
    public static func parse(_ line: String) -> ParsedLine {
        var copy = line
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }
}

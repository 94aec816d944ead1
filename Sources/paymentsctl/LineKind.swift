/// Which input lines the daemon answers: every line except blank ones and the CSV header
/// (`type,client,tx,amount`, any spacing or case), as SPEC §5 says. `send` counts one
/// expected reply per answered line.
enum LineKind {
    /// The header spelled without spaces, lowercase.
    private static let header = Array("type,client,tx,amount".utf8)

    /// True for a line the daemon replies nothing to. Most lines fail on their first
    /// non-blank byte, so this costs next to nothing per line.
    static func isSilent<C: Collection<UInt8>>(_ line: C) -> Bool {
        var matched = 0
        for byte in line {
            if byte == 0x20 || byte == 0x09 || byte == 0x0D { continue }
            let lower = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
            guard matched < header.count, header[matched] == lower else { return false }
            matched += 1
        }
        return matched == 0 || matched == header.count
    }
}

/// The start of a line split across two reads: enough of it to classify, and whether it had
/// any byte at all.
struct PartialLine {
    /// Longer than any spelling of the header worth recognising.
    static let keptBytes = 256
    private(set) var prefix: [UInt8] = []
    private(set) var length = 0

    mutating func append<C: Collection<UInt8>>(_ bytes: C) {
        length += bytes.count
        let room = Self.keptBytes - prefix.count
        if room > 0 { prefix.append(contentsOf: bytes.prefix(room)) }
    }

    var isEmpty: Bool { length == 0 }

    /// Whether the line made of this prefix and `rest` gets a reply; resets the prefix.
    mutating func finish<C: Collection<UInt8>>(with rest: C) -> Bool {
        defer { prefix.removeAll(keepingCapacity: true); length = 0 }
        if length == 0 { return !LineKind.isSilent(rest) }
        if length >= Self.keptBytes { return true }
        return !LineKind.isSilent(prefix + Array(rest))
    }
}

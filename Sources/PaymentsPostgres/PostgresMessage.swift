/// libpq's messages are written for a terminal: several lines, tab-indented hints, and severity
/// prefixes such as `FATAL:  `. Our logs and client replies hold one line per event, so every
/// message is collapsed here before it leaves this module.
enum PostgresMessage {
    static let severityPrefixes = ["FATAL:  ", "ERROR:  ", "PANIC:  ", "FATAL: ", "ERROR: ", "PANIC: "]

    static func oneLine(_ text: String) -> String {
        var result = ""
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            var piece = String(line)
            for prefix in severityPrefixes { piece = piece.replacingAll(prefix, with: "") }
            let words = piece.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard !words.isEmpty else { continue }
            if !result.isEmpty { result += "; " }
            result += words.joined(separator: " ")
        }
        return result.isEmpty ? "unknown PostgreSQL error" : result
    }
}

extension String {
    /// `replacingOccurrences(of:with:)` without Foundation.
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}

/// `--json` for the replies the line protocol only has as text: `STATS` and `HISTORY` are
/// turned into JSON here, in the client (the daemon has no JSON form of them on the line
/// protocol). The history objects are those of the HTTP API's `/clients/<id>/transactions`.
enum JSONText {
    /// A `STATS` line as one object, keys in the daemon's order; a value that is a JSON number
    /// (`12`, `-3`, `0.5`) stays a number, any other (`ok`, `leader`) becomes a string.
    static func stats(_ reply: StatsReply) -> String {
        let members = reply.ordered.map { pair in
            string(pair.key) + ":" + (isNumber(pair.value) ? pair.value : string(pair.value))
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// A `HISTORY` line, `type,client,tx,amount,outcome`, as
    /// `{"type":"withdrawal","client":1,"tx":3,"amount":"20.0000","outcome":"rejected","reason":"insufficient funds"}`
    /// (`"outcome":"ok"` without a reason when it was applied). The line is one that
    /// `ReplyShape.history` accepted: five fields, the second and third digits.
    static func historyEntry(_ line: String) -> String {
        let fields = line.split(separator: ",", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        precondition(fields.count == 5, "not a HISTORY line: \(line)")
        var object = #"{"type":"# + string(fields[0]) + #","client":"# + fields[1] + #","tx":"# + fields[2]
            + #","amount":"# + string(fields[3])
        let rejected = "rejected: "
        if fields[4].hasPrefix(rejected) {
            object += #","outcome":"rejected","reason":"# + string(String(fields[4].dropFirst(rejected.count)))
        } else {
            object += #","outcome":"# + string(fields[4])
        }
        return object + "}"
    }

    /// `text` as a JSON string, with the escapes JSON requires.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?` (no exponent: the daemon writes none).
    static func isNumber(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let isDigit = { (b: UInt8) in b >= 48 && b <= 57 }
        let whole = bytes.prefix(while: isDigit)
        guard !whole.isEmpty, whole.count == 1 || whole.first != UInt8(ascii: "0") else { return false }
        let rest = bytes.dropFirst(whole.count)
        if rest.isEmpty { return true }
        guard rest.first == UInt8(ascii: "."), rest.count > 1 else { return false }
        return rest.dropFirst().allSatisfy(isDigit)
    }
}

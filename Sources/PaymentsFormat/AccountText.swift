import PaymentsCore

/// Accounts as the contract prints them (§3): CSV rows and JSON objects with four-decimal
/// amounts. JSON amounts are strings so that no reader turns them into floats.
public enum AccountText {
    public static let csvHeader = "client,available,held,total,locked"

    /// `1,1.5000,0.0000,1.5000,false` and a newline.
    public static func appendCSVRow(_ a: Account, to out: inout [UInt8]) {
        AmountText.appendDecimal(UInt64(a.client), to: &out)
        out.append(UInt8(ascii: ","))
        AmountText.append(a.available, to: &out)
        out.append(UInt8(ascii: ","))
        AmountText.append(a.held, to: &out)
        out.append(UInt8(ascii: ","))
        AmountText.append(a.total, to: &out)
        out.append(contentsOf: a.locked ? ",true\n".utf8 : ",false\n".utf8)
    }

    /// `{"client":1,"available":"1.5000","held":"0.0000","total":"1.5000","locked":false}` and a newline.
    public static func appendJSON(_ a: Account, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"client":"#.utf8)
        AmountText.appendDecimal(UInt64(a.client), to: &out)
        out.append(contentsOf: #","available":""#.utf8)
        AmountText.append(a.available, to: &out)
        out.append(contentsOf: #"","held":""#.utf8)
        AmountText.append(a.held, to: &out)
        out.append(contentsOf: #"","total":""#.utf8)
        AmountText.append(a.total, to: &out)
        out.append(contentsOf: a.locked ? #"","locked":true}"#.utf8 : #"","locked":false}"#.utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// Every account of `ledger` in client order: CSV with its header, or JSON lines.
    public static func appendAll(_ ledger: Ledger, json: Bool, to out: inout [UInt8]) {
        if !json { out.append(contentsOf: csvHeader.utf8); out.append(UInt8(ascii: "\n")) }
        ledger.forEachAccount { a in
            if json { appendJSON(a, to: &out) } else { appendCSVRow(a, to: &out) }
        }
    }

    /// Every account as one JSON array, `[{...},{...}]`, for `GET /clients`.
    public static func appendJSONArray(_ ledger: Ledger, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        ledger.forEachAccount { a in
            appendJSON(a, to: &out)
            out[out.count - 1] = UInt8(ascii: ",")  // the newline becomes the separator
        }
        if out.last == UInt8(ascii: ",") { out.removeLast() }
        out.append(UInt8(ascii: "]"))
    }
}

public import PaymentsCore

/// Stored transactions and history entries as the daemon prints them: the `TX` and `HISTORY`
/// lines of the line protocol (§5) and the matching JSON objects of the HTTP API (§7).
public enum TransactionText {
    /// `deposit,1,7,2.5000,ok` and a newline: the `TX` reply.
    public static func appendCSV(id: TransactionID, _ t: StoredTransaction, to out: inout [UInt8]) {
        appendFields(t.kind, t.client, id, t.amount, to: &out)
        out.append(contentsOf: t.state.name.utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// `{"type":"deposit","client":1,"tx":7,"amount":"2.5000","state":"ok"}` and a newline.
    public static func appendJSON(id: TransactionID, _ t: StoredTransaction, to out: inout [UInt8]) {
        appendObject(t.kind, t.client, id, t.amount, key: "state", value: t.state.name, to: &out)
    }

    /// `dispute,1,7,2.5000,ok` or `withdrawal,1,8,9.0000,rejected: insufficient funds`: a `HISTORY` line.
    public static func appendCSV(client: ClientID, _ e: History.Entry, to out: inout [UInt8]) {
        appendFields(e.kind, client, e.tx, e.amount, to: &out)
        out.append(contentsOf: outcomeText(e.outcome).utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// A history entry as a JSON object (no newline), for `/clients/<id>/transactions`:
    /// `"outcome":"ok"`, or `"outcome":"rejected","reason":"insufficient funds"`.
    public static func appendJSON(client: ClientID, _ e: History.Entry, to out: inout [UInt8]) {
        switch e.outcome {
        case .applied:
            appendObject(e.kind, client, e.tx, e.amount, key: "outcome", value: "ok", to: &out)
            out.removeLast(2)  // `}` and the newline
        case .rejected(let r):
            appendObject(e.kind, client, e.tx, e.amount, key: "outcome", value: "rejected", to: &out)
            out.removeLast(2)
            out.append(contentsOf: #","reason":""#.utf8)
            out.append(contentsOf: r.reason.utf8)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// `ok`, or `rejected: <reason>` with the reason of §2.
    public static func outcomeText(_ o: Outcome) -> String {
        switch o {
        case .applied: "ok"
        case .rejected(let r): "rejected: \(r.reason)"
        }
    }

    static func appendFields(
        _ kind: TransactionKind, _ client: ClientID, _ tx: TransactionID, _ amount: Amount, to out: inout [UInt8]
    ) {
        out.append(contentsOf: kind.name.utf8)
        out.append(UInt8(ascii: ","))
        AmountText.appendDecimal(UInt64(client), to: &out)
        out.append(UInt8(ascii: ","))
        AmountText.appendDecimal(UInt64(tx), to: &out)
        out.append(UInt8(ascii: ","))
        AmountText.append(amount, to: &out)
        out.append(UInt8(ascii: ","))
    }

    static func appendObject(
        _ kind: TransactionKind, _ client: ClientID, _ tx: TransactionID, _ amount: Amount,
        key: String, value: String, to out: inout [UInt8]
    ) {
        out.append(contentsOf: #"{"type":""#.utf8)
        out.append(contentsOf: kind.name.utf8)
        out.append(contentsOf: #"","client":"#.utf8)
        AmountText.appendDecimal(UInt64(client), to: &out)
        out.append(contentsOf: #","tx":"#.utf8)
        AmountText.appendDecimal(UInt64(tx), to: &out)
        out.append(contentsOf: #","amount":""#.utf8)
        AmountText.append(amount, to: &out)
        out.append(contentsOf: "\",\"\(key)\":\"\(value)\"}\n".utf8)
    }
}

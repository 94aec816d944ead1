public import PaymentsCore

/// The lines of the change stream (§10), one JSON object per line:
///
///     {"lsn":42,"type":"deposit","client":1,"tx":7,"amount":"2.5000","outcome":"ok","account":{...}}
///     {"lsn":43,"type":"withdrawal",...,"outcome":"rejected","reason":"insufficient funds","account":{...}}
///     {"lsn":44,"type":"dispute","client":1,"tx":7,"outcome":"ok","account":{...}}
///     {"lsn":42,"snapshot":true,"account":{...}}
///
/// `account` is the client's account after the transaction, as §3 prints it; it is `null` when
/// the client has no account (a rejected transaction of a client that never had one applied:
/// rejections create no account, §2). Disputes, resolves and chargebacks carry no amount.
public enum ChangeText {
    /// Appends one transaction line and its newline.
    public static func appendJSON(
        lsn: UInt64, _ t: Transaction, _ effect: TransactionRecord.Effect, to out: inout [UInt8]
    ) {
        out.append(contentsOf: #"{"lsn":"#.utf8)
        AmountText.appendDecimal(lsn, to: &out)
        out.append(contentsOf: #","type":""#.utf8)
        out.append(contentsOf: t.kind.name.utf8)
        out.append(contentsOf: #"","client":"#.utf8)
        AmountText.appendDecimal(UInt64(t.client), to: &out)
        out.append(contentsOf: #","tx":"#.utf8)
        AmountText.appendDecimal(UInt64(t.tx), to: &out)
        if t.kind.movesMoney {
            out.append(contentsOf: #","amount":""#.utf8)
            AmountText.append(t.amount, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        switch effect.outcome {
        case .applied:
            out.append(contentsOf: #","outcome":"ok","account":"#.utf8)
        case .rejected(let r):
            out.append(contentsOf: #","outcome":"rejected","reason":""#.utf8)
            out.append(contentsOf: r.reason.utf8)
            out.append(contentsOf: #"","account":"#.utf8)
        }
        appendAccount(effect.account, to: &out)
        out.append(contentsOf: "}\n".utf8)
    }

    /// Appends one snapshot line (`FOLLOW SNAPSHOT`) and its newline.
    public static func appendSnapshotJSON(lsn: UInt64, _ account: Account, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"lsn":"#.utf8)
        AmountText.appendDecimal(lsn, to: &out)
        out.append(contentsOf: #","snapshot":true,"account":"#.utf8)
        appendAccount(account, to: &out)
        out.append(contentsOf: "}\n".utf8)
    }

    private static func appendAccount(_ account: Account?, to out: inout [UInt8]) {
        guard let account else { return out.append(contentsOf: "null".utf8) }
        AccountText.appendJSON(account, to: &out)
        out.removeLast()  // its newline
    }
}

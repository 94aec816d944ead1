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
///
/// The daemon renders a line per journaled record while it ingests, so the lines are written
/// straight into reserved memory (`render`, `RawText`): constant fragments copied whole (the
/// kind and the outcome pick one fragment each), numbers two digits per step, no allocation.
public enum ChangeText {
    /// The longest line `render` or `renderSnapshot` writes, newline included (about 330
    /// bytes with every number at its widest; a typical line is about 200).
    public static let maxLineBytes = 384

    /// Writes one transaction line and its newline at `p` (`maxLineBytes` of room); returns the
    /// first byte after it.
    @inlinable
    public static func render(
        lsn: UInt64, _ t: Transaction, _ effect: TransactionRecord.Effect, at p: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var p = RawText.put(#"{"lsn":"#, at: p)
        p = RawText.decimal(lsn, at: p)
        p = RawText.put(kindFragment(t.kind), at: p)
        p = RawText.decimal(UInt64(t.client), at: p)
        p = RawText.put(#","tx":"#, at: p)
        p = RawText.decimal(UInt64(t.tx), at: p)
        if t.kind.movesMoney {
            p = RawText.put(#","amount":""#, at: p)
            p = RawText.amount(t.amount, at: p)
            p = RawText.put(UInt8(ascii: "\""), at: p)
        }
        p = RawText.put(outcomeFragment(effect.outcome), at: p)
        p = account(effect.account, at: p)
        return RawText.put("}\n", at: p)
    }

    /// Writes one snapshot line (`FOLLOW SNAPSHOT`) and its newline at `p` (`maxLineBytes` of room).
    @inlinable
    public static func renderSnapshot(
        lsn: UInt64, _ account: Account, at p: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var p = RawText.put(#"{"lsn":"#, at: p)
        p = RawText.decimal(lsn, at: p)
        p = RawText.put(#","snapshot":true,"account":"#, at: p)
        p = Self.account(account, at: p)
        return RawText.put("}\n", at: p)
    }

    /// Appends one transaction line and its newline.
    public static func appendJSON(
        lsn: UInt64, _ t: Transaction, _ effect: TransactionRecord.Effect, to out: inout [UInt8]
    ) {
        out.appendRendered(maxBytes: maxLineBytes) { render(lsn: lsn, t, effect, at: $0) }
    }

    /// Appends one snapshot line (`FOLLOW SNAPSHOT`) and its newline.
    public static func appendSnapshotJSON(lsn: UInt64, _ account: Account, to out: inout [UInt8]) {
        out.appendRendered(maxBytes: maxLineBytes) { renderSnapshot(lsn: lsn, account, at: $0) }
    }

    /// From the kind to the client's number: `","type":"deposit","client":`.
    @inlinable
    static func kindFragment(_ kind: TransactionKind) -> StaticString {
        switch kind {
        case .deposit: #","type":"deposit","client":"#
        case .withdrawal: #","type":"withdrawal","client":"#
        case .dispute: #","type":"dispute","client":"#
        case .resolve: #","type":"resolve","client":"#
        case .chargeback: #","type":"chargeback","client":"#
        }
    }

    /// From the outcome to the account: the reason is `Rejection.reason`, the text of the
    /// `REJECTED` reply (`ChangeTextTests` checks every one against it).
    @inlinable
    static func outcomeFragment(_ outcome: Outcome) -> StaticString {
        switch outcome {
        case .applied: #","outcome":"ok","account":"#
        case .rejected(.duplicate): #","outcome":"rejected","reason":"duplicate","account":"#
        case .rejected(.locked): #","outcome":"rejected","reason":"locked","account":"#
        case .rejected(.overflow): #","outcome":"rejected","reason":"overflow","account":"#
        case .rejected(.insufficientFunds): #","outcome":"rejected","reason":"insufficient funds","account":"#
        case .rejected(.unknownTx): #","outcome":"rejected","reason":"unknown tx","account":"#
        case .rejected(.notADeposit): #","outcome":"rejected","reason":"not a deposit","account":"#
        case .rejected(.clientMismatch): #","outcome":"rejected","reason":"client mismatch","account":"#
        case .rejected(.alreadyDisputed): #","outcome":"rejected","reason":"already disputed","account":"#
        case .rejected(.chargedBack): #","outcome":"rejected","reason":"charged back","account":"#
        case .rejected(.notDisputed): #","outcome":"rejected","reason":"not disputed","account":"#
        }
    }

    /// The account as `AccountText.appendJSON` prints it, without its newline; `null` for none.
    @inlinable
    static func account(_ account: Account?, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        guard let a = account else { return RawText.put("null", at: p) }
        var p = RawText.put(#"{"client":"#, at: p)
        p = RawText.decimal(UInt64(a.client), at: p)
        p = RawText.put(#","available":""#, at: p)
        p = RawText.amount(a.available, at: p)
        p = RawText.put(#"","held":""#, at: p)
        p = RawText.amount(a.held, at: p)
        p = RawText.put(#"","total":""#, at: p)
        p = RawText.amount(a.total, at: p)
        return RawText.put(a.locked ? #"","locked":true}"# : #"","locked":false}"#, at: p)
    }
}

public import PaymentsCore

/// The whole engine state as bytes, for the journal's snapshots: counters, accounts, every
/// consumed id with its state, and every client's history. Decoding checks every field, so a
/// snapshot that passed its checksum but holds nonsense is refused rather than half-loaded.
///
/// Layout (little-endian), version 1:
///   "PAYSNAP1"  applied u64  rejected u64
///   accounts u32, each: client u16, available i64, held i64, locked u8
///   ids u64, each: id u32, kind u8, client u16, amount i64, state u8
///   history entries u64, in arrival order, each: client u16, kind u8, tx u32, amount i64, outcome u8
public enum EngineSnapshot {
    static let magicBytes = Array("PAYSNAP1".utf8)

    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case badMagic
        case truncated(offset: Int)
        case invalid(String, offset: Int)

        public var description: String {
            switch self {
            case .badMagic: "not an engine snapshot (bad magic)"
            case .truncated(let o): "snapshot ends early at byte \(o)"
            case .invalid(let what, let o): "invalid \(what) at byte \(o)"
            }
        }
    }

    public static func encode(_ engine: Engine) -> [UInt8] {
        let ledger = engine.ledger
        let size = 8 + 8 + 8 + 4 + ledger.accountCount * 19 + 8 + ledger.transactions.count * 16
            + 8 + engine.history.count * 16
        return ByteWriter.bytes(size: size) { w in
            w.put(bytes: magicBytes)
            w.put(UInt64(engine.applied))
            w.put(UInt64(engine.rejected))
            w.put(UInt32(ledger.accountCount))
            ledger.forEachAccount { a in
                w.put(a.client); w.put(a.available.units); w.put(a.held.units); w.put(UInt8(a.locked ? 1 : 0))
            }
            w.put(UInt64(ledger.transactions.count))
            ledger.transactions.forEach { id, t in
                w.put(id); w.put(t.kind.rawValue); w.put(t.client); w.put(t.amount.units); w.put(t.state.rawValue)
            }
            w.put(UInt64(engine.history.count))
            engine.history.forEach { client, e in
                w.put(client); w.put(e.kind.rawValue); w.put(e.tx); w.put(e.amount.units); w.put(e.outcome.code)
            }
        }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Engine, DecodeError> {
        guard bytes.count >= 8, bytes.prefix(8).elementsEqual(magicBytes) else { return .failure(.badMagic) }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[8...]))
        func fail(_ what: String) -> DecodeError { .invalid(what, offset: r.offset + 8) }
        guard let applied = r.get(UInt64.self), let rejected = r.get(UInt64.self), let accounts = r.get(UInt32.self)
        else { return .failure(.truncated(offset: r.offset + 8)) }
        var pendingAccounts: [Account] = []
        for _ in 0..<accounts {
            guard let c = r.get(UInt16.self), let av = r.get(Int64.self), let h = r.get(Int64.self), let l = r.get(UInt8.self)
            else { return .failure(.truncated(offset: r.offset + 8)) }
            guard l <= 1, h >= 0, !av.addingReportingOverflow(h).overflow else { return .failure(fail("account")) }
            pendingAccounts.append(Account(client: c, available: Amount(units: av), held: Amount(units: h), locked: l == 1))
        }
        guard let ids = r.get(UInt64.self), ids <= UInt64(r.remaining / 16) else { return .failure(fail("id count")) }
        let e = Engine(expectedTransactions: Int(ids))
        for a in pendingAccounts { e.ledger.restore(a) }
        for _ in 0..<ids {
            guard let id = r.get(UInt32.self), let k = r.get(UInt8.self), let c = r.get(UInt16.self),
                let amount = r.get(Int64.self), let s = r.get(UInt8.self)
            else { return .failure(.truncated(offset: r.offset + 8)) }
            guard let kind = TransactionKind(rawValue: k), kind.movesMoney, let state = TransactionState(rawValue: s),
                e.ledger.restore(id: id, StoredTransaction(kind: kind, client: c, amount: Amount(units: amount), state: state))
            else { return .failure(fail("id entry")) }
        }
        guard let entries = r.get(UInt64.self), entries <= UInt64(r.remaining / 16) else { return .failure(fail("history count")) }
        for _ in 0..<entries {
            guard let c = r.get(UInt16.self), let k = r.get(UInt8.self), let tx = r.get(UInt32.self),
                let amount = r.get(Int64.self), let o = r.get(UInt8.self)
            else { return .failure(.truncated(offset: r.offset + 8)) }
            guard let kind = TransactionKind(rawValue: k), let outcome = Outcome(code: o) else {
                return .failure(fail("history entry"))
            }
            e.history.append(client: c, .init(kind: kind, tx: tx, amount: Amount(units: amount), outcome: outcome))
        }
        guard r.remaining == 0 else { return .failure(fail("trailing bytes")) }
        e.restoreCounters(applied: Int(applied), rejected: Int(rejected))
        return .success(e)
    }
}

import PaymentsCore
import PaymentsFormat
import PaymentsTestSupport
import Testing

/// The engine's snapshot codec (`EngineSnapshot`): every part of the state comes back exactly,
/// and every kind of damage a checksum cannot catch (a writer's bug, a future version) is
/// refused with its reason rather than half-loaded.
@Suite struct EngineSnapshotTests {
    // MARK: Round trip

    @Test func emptyEngineRoundTrips() throws {
        let bytes = EngineSnapshot.encode(Engine())
        #expect(bytes.count == 8 + 8 + 8 + 4 + 8 + 8)
        let back = try decoded(bytes)
        #expect(back.ledger.accountCount == 0 && back.ledger.transactions.count == 0 && back.history.count == 0)
        #expect(back.applied == 0 && back.rejected == 0)
    }

    /// A random engine with every state in it (held funds, locked accounts, every transaction
    /// state, refusals of every kind in the history): decoded, it equals the original field by
    /// field, encodes to the same bytes, and goes on answering the next transactions alike.
    @Test(arguments: [1, 2, 3] as [UInt64]) func randomEngineRoundTrips(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let engine = Engine()
        let stream = Self.transactions(count: 6_000, rng: &rng)
        for t in stream { engine.apply(t) }
        #expect(engine.ledger.accounts.contains { $0.held.units > 0 }, "the stream left nothing held")
        #expect(engine.ledger.accounts.contains { $0.locked }, "the stream locked no account")
        #expect(engine.ledger.accounts.contains { $0.available.units < 0 }, "no negative available balance")
        var states = Set<TransactionState>()
        engine.ledger.transactions.forEach { _, t in states.insert(t.state) }
        #expect(states == Set(TransactionState.allCases), "\(states)")

        let bytes = EngineSnapshot.encode(engine)
        let back = try decoded(bytes)
        #expect(back.applied == engine.applied && back.rejected == engine.rejected)
        #expect(back.ledger.accountCount == engine.ledger.accountCount)
        #expect(back.ledger.accounts == engine.ledger.accounts)
        #expect(Self.idTable(back) == Self.idTable(engine))
        #expect(Self.historyLog(back) == Self.historyLog(engine))
        for client in ClientID(0)...40 { #expect(back.history.entries(of: client) == engine.history.entries(of: client)) }
        #expect(EngineSnapshot.encode(back) == bytes)

        for t in Self.transactions(count: 2_000, rng: &rng) {
            let want = engine.apply(t), got = back.apply(t)
            if want != got { Issue.record("\(t): original \(want), restored \(got)"); break }
        }
        #expect(back.ledger.accounts == engine.ledger.accounts)
    }

    // MARK: Refusals

    /// Cut anywhere, a snapshot is refused: never a shorter state that looks whole.
    @Test func everyTruncationIsRefused() {
        let bytes = EngineSnapshot.encode(Self.smallEngine())
        for length in 0..<bytes.count {
            let error = refusal(Array(bytes[..<length]))
            switch error {
            case .badMagic?: #expect(length < 8, "cut at \(length)")
            case .truncated?, .invalid?: #expect(length >= 8, "cut at \(length)")
            case nil: Issue.record("a snapshot cut to \(length) of \(bytes.count) bytes was accepted")
            }
        }
    }

    @Test func trailingBytesAreRefused() {
        let bytes = EngineSnapshot.encode(Self.smallEngine())
        for extra in [[0], [1, 2, 3], [UInt8](repeating: 0, count: 16)] as [[UInt8]] {
            #expect(refusal(bytes + extra) == .invalid("trailing bytes", offset: bytes.count))
        }
    }

    /// The version is the magic's last byte: a reader never guesses at a format it does not know.
    @Test func unknownVersionOrMagicIsRefused() {
        let bytes = EngineSnapshot.encode(Self.smallEngine())
        for (at, value) in [(7, UInt8(ascii: "2")), (7, UInt8(ascii: "0")), (0, UInt8(ascii: "X")), (3, 0)] {
            var image = bytes
            image[at] = value
            #expect(refusal(image) == .badMagic, "byte \(at) set to \(value)")
        }
    }

    /// Each field out of its range, one at a time, in an otherwise valid snapshot.
    @Test func outOfRangeFieldsAreRefused() {
        let bytes = EngineSnapshot.encode(Self.smallEngine())
        let layout = Layout(bytes)
        #expect(layout.accounts == 3 && layout.ids == 4 && layout.historyEntries == 8)
        func refused(_ what: String, _ change: (inout [UInt8]) -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
            var image = bytes
            change(&image)
            guard case .invalid(let found, _)? = refusal(image) else {
                Issue.record("\(what): not refused as invalid: \(String(describing: refusal(image)))", sourceLocation: sourceLocation)
                return
            }
            #expect(found == what, sourceLocation: sourceLocation)
        }
        let account = layout.account(1), id = layout.id(0), entry = layout.historyEntry(2)
        refused("account") { $0[account + 18] = 2 }                           // locked is 0 or 1
        refused("account") { put(Int64(-1), at: account + 10, in: &$0) }       // held never negative
        refused("account") {                                                   // total overflows
            put(Int64.max, at: account + 2, in: &$0)
            put(Int64(1), at: account + 10, in: &$0)
        }
        refused("id count") { put(UInt64(layout.ids + 1_000), at: layout.idCount, in: &$0) }
        refused("id count") { put(UInt64.max, at: layout.idCount, in: &$0) }
        refused("id entry") { $0[id + 4] = 0 }                                 // no such kind
        refused("id entry") { $0[id + 4] = 6 }
        refused("id entry") { $0[id + 4] = TransactionKind.dispute.rawValue }  // only deposits and withdrawals
        refused("id entry") { $0[id + 15] = 5 }                                // no such state
        refused("id entry") {                                                  // the same id twice
            let second = layout.id(1)
            for i in 0..<4 { $0[second + i] = $0[id + i] }
        }
        refused("history count") { put(UInt64(layout.historyEntries + 1), at: layout.historyCount, in: &$0) }
        refused("history entry") { $0[entry + 2] = 0 }                         // no such kind
        refused("history entry") { $0[entry + 2] = 9 }
        refused("history entry") { $0[entry + 15] = 11 }                       // no such outcome
    }

    // MARK: Helpers

    func decoded(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> Engine {
        try bytes.withUnsafeBytes { EngineSnapshot.decode($0) }.get()
    }

    func refusal(_ bytes: [UInt8]) -> EngineSnapshot.DecodeError? {
        switch bytes.withUnsafeBytes({ EngineSnapshot.decode($0) }) {
        case .success: nil
        case .failure(let e): e
        }
    }

    /// Three accounts (one holding funds under dispute, one locked), four ids, eight history
    /// entries of which two refused.
    static func smallEngine() -> Engine {
        let e = Engine()
        func t(_ kind: TransactionKind, _ client: ClientID, _ tx: TransactionID, _ units: Int64 = 0) {
            e.apply(Transaction(kind: kind, client: client, tx: tx, amount: Amount(units: units)))
        }
        t(.deposit, 1, 1, 10_0000)
        t(.deposit, 2, 2, 5_5000)
        t(.dispute, 2, 2)
        t(.withdrawal, 1, 3, 100_0000)   // refused: insufficient funds
        t(.deposit, 7, 4, 1)
        t(.dispute, 7, 99)               // refused: unknown tx
        t(.dispute, 7, 4)
        t(.chargeback, 7, 4)
        return e
    }

    /// Random transactions over 40 clients: deposits, withdrawals (some too large), disputes,
    /// resolves and chargebacks of earlier ids (some of other clients, some unknown), duplicates.
    static func transactions(count: Int, rng: inout SplitMix64) -> [Transaction] {
        var out: [Transaction] = []
        var used: [(TransactionID, ClientID)] = []
        var next: TransactionID = 1
        while out.count < count {
            let client = ClientID(rng.below(40))
            let roll = rng.below(100)
            if roll < 40 || used.isEmpty {
                let id = roll < 2 && !used.isEmpty ? used[rng.below(used.count)].0 : next
                if id == next { next += 1; used.append((id, client)) }
                out.append(Transaction(kind: .deposit, client: client, tx: id, amount: Amount(units: 1 + Int64(rng.below(500_0000)))))
            } else if roll < 60 {
                out.append(Transaction(kind: .withdrawal, client: client, tx: next, amount: Amount(units: 1 + Int64(rng.below(800_0000)))))
                used.append((next, client))
                next += 1
            } else {
                let kinds: [TransactionKind] = [.dispute, .dispute, .resolve, .chargeback]
                var (id, owner) = used[rng.below(used.count)]
                if rng.below(20) == 0 { owner = client }
                if rng.below(30) == 0 { id = next + 1_000_000 }
                out.append(Transaction(kind: kinds[rng.below(kinds.count)], client: owner, tx: id))
            }
        }
        return out
    }

    static func idTable(_ e: Engine) -> [TransactionID: StoredTransaction] {
        var table: [TransactionID: StoredTransaction] = [:]
        e.ledger.transactions.forEach { id, t in table[id] = t }
        return table
    }

    static func historyLog(_ e: Engine) -> [String] {
        var log: [String] = []
        e.history.forEach { client, entry in log.append("\(client) \(entry)") }
        return log
    }
}

/// Where things are in a version-1 snapshot (see `EngineSnapshot`'s layout comment).
struct Layout {
    let accounts: Int, ids: Int, historyEntries: Int
    let idCount: Int, historyCount: Int

    init(_ bytes: [UInt8]) {
        func le(_ at: Int, _ size: Int) -> Int { (0..<size).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        accounts = le(24, 4)
        idCount = 28 + accounts * 19
        ids = le(idCount, 8)
        historyCount = idCount + 8 + ids * 16
        historyEntries = le(historyCount, 8)
    }

    func account(_ i: Int) -> Int { 28 + i * 19 }
    func id(_ i: Int) -> Int { idCount + 8 + i * 16 }
    func historyEntry(_ i: Int) -> Int { historyCount + 8 + i * 16 }
}

func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
    for i in 0..<MemoryLayout<T>.size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
}

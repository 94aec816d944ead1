/// Every well-formed transaction of every client, in order, with what the ledger did with it:
/// the daemon's `HISTORY` and `/clients/<id>/transactions`. The batch program does not keep it.
///
/// One log in arrival order (16 bytes an entry, appended sequentially) plus, per entry, the
/// position of the same client's previous entry: appending costs two sequential writes and one
/// lookup in a 256 KiB table, and a client's history is a walk along its chain. It grows with
/// every transaction, as the id table does: both are the state itself.
public final class History {
    public struct Entry: Hashable, Sendable {
        public var kind: TransactionKind
        public var tx: TransactionID
        /// For deposits and withdrawals their own amount; for the others the amount they moved
        /// (the disputed deposit's), or zero when refused.
        public var amount: Amount
        public var outcome: Outcome

        public init(kind: TransactionKind, tx: TransactionID, amount: Amount, outcome: Outcome) {
            self.kind = kind
            self.tx = tx
            self.amount = amount
            self.outcome = outcome
        }
    }

    /// An entry as stored: 16 bytes.
    struct Packed {
        var amount: Int64
        var tx: UInt32
        var client: UInt16
        var kind: UInt8
        var outcome: UInt8

        var entry: Entry {
            Entry(kind: TransactionKind(rawValue: kind)!, tx: tx, amount: Amount(units: amount), outcome: Outcome(code: outcome)!)
        }
    }

    // Touched on every transaction, by one thread, never while another access is open: the
    // runtime's exclusivity checks on these arrays cost more than the appends themselves.
    @exclusivity(unchecked) var log: [Packed] = []
    /// For each entry, 1 + the index of the same client's previous entry (0: none).
    @exclusivity(unchecked) var previous: [UInt32] = []
    /// For each client, 1 + the index of its latest entry (0: none).
    @exclusivity(unchecked) var latest: [UInt32]

    public init(expectedCount: Int = 0) {
        latest = Array(repeating: 0, count: Ledger.clientCount)
        log.reserveCapacity(expectedCount)
        previous.reserveCapacity(expectedCount)
    }

    public var count: Int { log.count }

    public func append(client: ClientID, _ e: Entry) {
        let c = Int(client)
        log.append(Packed(amount: e.amount.units, tx: e.tx, client: client, kind: e.kind.rawValue, outcome: e.outcome.code))
        previous.append(latest[c])
        latest[c] = UInt32(log.count)
    }

    /// The entries of `client`, oldest first.
    public func entries(of client: ClientID) -> [Entry] {
        var result: [Entry] = []
        var next = latest[Int(client)]
        while next != 0 {
            result.append(log[Int(next) - 1].entry)
            next = previous[Int(next) - 1]
        }
        return result.reversed()
    }

    /// Every entry in arrival order, with its client (for snapshots).
    public func forEach(_ body: (ClientID, Entry) -> Void) {
        for p in log { body(p.client, p.entry) }
    }
}

/// The ledger together with the history of what it was given: the daemon's whole state, which
/// journal replay and snapshots rebuild.
public final class Engine {
    public let ledger: Ledger
    public let history: History
    public private(set) var applied = 0
    public private(set) var rejected = 0

    public init(expectedTransactions: Int = 0) {
        ledger = Ledger(expectedTransactions: expectedTransactions)
        history = History(expectedCount: expectedTransactions)
    }

    /// Applies `t` and records it in its client's history.
    @discardableResult
    public func apply(_ t: Transaction) -> Outcome {
        let outcome = ledger.apply(t)
        var amount = t.amount
        if !t.kind.movesMoney {
            amount = outcome.isApplied ? ledger.transactions.lookup(t.tx)?.amount ?? .zero : .zero
        }
        history.append(client: t.client, .init(kind: t.kind, tx: t.tx, amount: amount, outcome: outcome))
        if outcome.isApplied { applied += 1 } else { rejected += 1 }
        return outcome
    }

    /// Sets the counters when the state comes back from a snapshot.
    public func restoreCounters(applied: Int, rejected: Int) {
        self.applied = applied
        self.rejected = rejected
    }
}

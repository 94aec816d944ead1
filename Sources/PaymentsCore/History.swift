/// Every well-formed transaction of every client, in order, with what the ledger did with it:
/// the daemon's `HISTORY` and `/clients/<id>/transactions`. The batch program does not keep it.
///
/// 16 bytes an entry in one array per client, so a client's history is one contiguous read.
/// It grows with every transaction, as the id table does: both are the state itself.
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

    /// An entry as stored: 16 bytes where `Entry` would take 24.
    struct Packed {
        var amount: Int64
        var tx: UInt32
        var kind: UInt8
        var outcome: UInt8

        init(_ e: Entry) {
            amount = e.amount.units
            tx = e.tx
            kind = e.kind.rawValue
            outcome = e.outcome.code
        }

        var entry: Entry {
            Entry(kind: TransactionKind(rawValue: kind)!, tx: tx, amount: Amount(units: amount), outcome: Outcome(code: outcome)!)
        }
    }

    var perClient: [[Packed]]
    public private(set) var count = 0

    public init() { perClient = Array(repeating: [], count: Ledger.clientCount) }

    public func append(client: ClientID, _ entry: Entry) {
        perClient[Int(client)].append(Packed(entry))
        count += 1
    }

    /// The entries of `client`, oldest first.
    public func entries(of client: ClientID) -> [Entry] { perClient[Int(client)].map(\.entry) }

    /// Calls `body` for every client with a history, in client order.
    public func forEachClient(_ body: (ClientID, [Entry]) -> Void) {
        for c in 0..<Ledger.clientCount where !perClient[c].isEmpty { body(ClientID(c), entries(of: ClientID(c))) }
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
        history = History()
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

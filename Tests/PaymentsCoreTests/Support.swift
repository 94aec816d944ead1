import PaymentsCore
import PaymentsTestSupport

/// Amounts in tests are written as whole ten-thousandths, worked out by hand: `u(1_5000)` is 1.5.
func u(_ units: Int64) -> Amount { Amount(units: units) }

func deposit(_ client: ClientID, _ tx: TransactionID, _ units: Int64) -> Transaction {
    Transaction(kind: .deposit, client: client, tx: tx, amount: Amount(units: units))
}

func withdrawal(_ client: ClientID, _ tx: TransactionID, _ units: Int64) -> Transaction {
    Transaction(kind: .withdrawal, client: client, tx: tx, amount: Amount(units: units))
}

func dispute(_ client: ClientID, _ tx: TransactionID) -> Transaction {
    Transaction(kind: .dispute, client: client, tx: tx)
}

func resolve(_ client: ClientID, _ tx: TransactionID) -> Transaction {
    Transaction(kind: .resolve, client: client, tx: tx)
}

func chargeback(_ client: ClientID, _ tx: TransactionID) -> Transaction {
    Transaction(kind: .chargeback, client: client, tx: tx)
}

func account(_ client: ClientID, available: Int64, held: Int64, locked: Bool = false) -> Account {
    Account(client: client, available: Amount(units: available), held: Amount(units: held), locked: locked)
}


/// A mixed stream of every kind over a few dozen clients: new ids, reused ids (duplicates),
/// references to one's own deposits, to other clients' ids, to withdrawals and to unknown ids,
/// small amounts, and now and then a huge one that pushes balances towards overflow.
func randomStream(seed: UInt64, count: Int, clients: Int = 40) -> [Transaction] {
    var rng = SplitMix64(seed: seed)
    var stream: [Transaction] = []
    stream.reserveCapacity(count)
    var used: [(id: TransactionID, client: ClientID)] = []
    var nextID: TransactionID = TransactionID(rng.below(1000))
    for _ in 0..<count {
        let client = ClientID(rng.below(clients))
        let roll = rng.below(100)
        func amount() -> Int64 {
            switch rng.below(100) {
            case 0: return Int64.max - Int64(rng.below(1000))
            case 1: return Int64.max / 3 + Int64(rng.below(1000))
            case 2..<10: return Int64(1 + rng.below(10))
            default: return Int64(1 + rng.below(2_000_000))
            }
        }
        func freshOrReused() -> TransactionID {
            if !used.isEmpty, rng.chance(4) { return used[rng.below(used.count)].id }
            nextID &+= TransactionID(1 + rng.below(3))
            return nextID
        }
        func reference() -> (TransactionID, ClientID) {
            let r = rng.below(100)
            if used.isEmpty || r < 8 { return (TransactionID.max - TransactionID(rng.below(50)), client) }
            let pick = used[used.count - 1 - rng.below(min(used.count, 200))]
            // Mostly the owner's own id; sometimes someone else's.
            return r < 85 ? (pick.id, pick.client) : (pick.id, client)
        }
        let t: Transaction
        switch roll {
        case 0..<50:
            let id = freshOrReused()
            t = Transaction(kind: .deposit, client: client, tx: id, amount: Amount(units: amount()))
            used.append((id, client))
        case 50..<65:
            let id = freshOrReused()
            t = Transaction(kind: .withdrawal, client: client, tx: id, amount: Amount(units: amount()))
            used.append((id, client))
        case 65..<82:
            let (id, c) = reference()
            t = Transaction(kind: .dispute, client: c, tx: id)
        case 82..<94:
            let (id, c) = reference()
            t = Transaction(kind: .resolve, client: c, tx: id)
        default:
            let (id, c) = reference()
            t = Transaction(kind: .chargeback, client: c, tx: id)
        }
        stream.append(t)
    }
    return stream
}

/// nil when both lists hold the same accounts; otherwise a short description of the first
/// differences (so a failing property test prints a few lines, not every account).
func accountDifferences(_ got: [Account], _ want: [Account]) -> String? {
    if got == want { return nil }
    var notes: [String] = []
    if got.count != want.count { notes.append("\(got.count) accounts, expected \(want.count)") }
    let wantByClient = Dictionary(want.map { ($0.client, $0) }, uniquingKeysWith: { a, _ in a })
    let gotByClient = Dictionary(got.map { ($0.client, $0) }, uniquingKeysWith: { a, _ in a })
    for c in Set(wantByClient.keys).union(gotByClient.keys).sorted() where gotByClient[c] != wantByClient[c] {
        func show(_ a: Account?) -> String {
            a.map { "avail \($0.available.units) held \($0.held.units) locked \($0.locked)" } ?? "none"
        }
        notes.append("client \(c): got \(show(gotByClient[c])), expected \(show(wantByClient[c]))")
        if notes.count >= 4 { break }
    }
    if notes.isEmpty { notes.append("same accounts in a different order") }
    return notes.joined(separator: "; ")
}

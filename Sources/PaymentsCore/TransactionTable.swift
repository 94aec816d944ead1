// Glibc only for `calloc`/`free`: zero-filled pages on demand keep an empty slot free of cost.
// The engine does no I/O; a test checks that no other Glibc call creeps in.
import Glibc

/// What the ledger remembers of a deposit or withdrawal after applying or refusing it.
public enum TransactionState: UInt8, Sendable, CaseIterable {
    case ok = 0
    case disputed = 1
    case resolved = 2
    case chargedBack = 3
    /// The id was consumed but the rules refused the transaction (locked, insufficient funds, ...).
    case rejected = 4

    /// The word the `TX` reply uses.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .disputed: "disputed"
        case .resolved: "resolved"
        case .chargedBack: "chargedback"
        case .rejected: "rejected"
        }
    }
}

/// A deposit or withdrawal as the table holds it.
public struct StoredTransaction: Hashable, Sendable {
    public var kind: TransactionKind
    public var client: ClientID
    public var amount: Amount
    public var state: TransactionState


    public init(kind: TransactionKind, client: ClientID, amount: Amount, state: TransactionState) {
        self.kind = kind
        self.client = client
        self.amount = amount
        self.state = state
    }
}

/// One slot of the table: 16 bytes, so tens of millions of ids fit in a few hundred MiB.
@usableFromInline
struct TransactionSlot {
    var amount: Int64
    var id: UInt32
    var client: UInt16
    /// 0 for an empty slot; otherwise the kind in the low nibble and the state in the high one.
    var meta: UInt8
    var reserved: UInt8
}

/// Every id consumed by a deposit or withdrawal, with what a later dispute needs to know.
///
/// Open addressing with linear probing over slots from `calloc`: an all-zero slot is empty, and
/// pages the table never touches cost no memory. Ids usually arrive in increasing runs, so the
/// home slot is the id itself (folded): consecutive ids land in consecutive slots, which keeps
/// inserts and lookups in cache. Should a pattern of ids pile up (a probe longer than
/// `maxProbeBeforeScramble`), the table rebuilds itself with a multiplicative hash instead.
public final class TransactionTable {
    // Read on every lookup by one thread: no runtime exclusivity checks (see History).
    @exclusivity(unchecked) var slots: UnsafeMutablePointer<TransactionSlot>
    @exclusivity(unchecked) var mask: Int
    @exclusivity(unchecked) var scrambled = false
    @exclusivity(unchecked) public private(set) var count = 0

    static let initialCapacity = 1 << 16
    /// Grow past 3/4 full: linear probing slows sharply beyond that.
    static let maxLoadNumerator = 3, maxLoadDenominator = 4
    static let maxProbeBeforeScramble = 128

    public init(expectedCount: Int = 0) {
        var capacity = Self.initialCapacity
        while capacity * Self.maxLoadNumerator / Self.maxLoadDenominator < expectedCount { capacity <<= 1 }
        slots = Self.allocate(capacity)
        mask = capacity - 1
    }

    deinit { free(slots) }

    public var capacity: Int { mask + 1 }

    static func allocate(_ capacity: Int) -> UnsafeMutablePointer<TransactionSlot> {
        guard let raw = calloc(capacity, MemoryLayout<TransactionSlot>.stride) else {
            fatalError("out of memory: transaction table of \(capacity) slots")
        }
        return raw.assumingMemoryBound(to: TransactionSlot.self)
    }


    func home(_ id: UInt32) -> Int {
        if scrambled { return Int(truncatingIfNeeded: (UInt64(id) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }
        return Int(id ^ (id >> 24)) & mask
    }

    /// The slot index holding `id`, or the empty slot where it would go (negated, minus one).

    func probe(_ id: UInt32) -> (index: Int, found: Bool, distance: Int) {
        var i = home(id)
        var distance = 0
        while true {
            let slot = slots[i]
            if slot.meta == 0 { return (i, false, distance) }
            if slot.id == id { return (i, true, distance) }
            i = (i + 1) & mask
            distance += 1
        }
    }

    /// Reads the home slot of `id` so a later lookup finds it in cache (see `Ledger.apply(_:outcomes:)`).
    func touch(_ id: UInt32) -> Int64 { slots[home(id)].amount }

    /// The stored transaction for `id`, if any deposit or withdrawal used it.

    public func lookup(_ id: UInt32) -> StoredTransaction? {
        let (i, found, _) = probe(id)
        return found ? Self.decode(slots[i]) : nil
    }

    /// Records `id` unless it is already used; returns false for a duplicate.

    public func insert(_ id: UInt32, _ value: StoredTransaction) -> Bool {
        let (i, found, distance) = probe(id)
        if found { return false }
        slots[i] = Self.encode(id, value)
        count += 1
        if count * Self.maxLoadDenominator > capacity * Self.maxLoadNumerator {
            rebuild(capacity: capacity * 2, scrambled: scrambled)
        } else if distance > Self.maxProbeBeforeScramble && !scrambled {
            rebuild(capacity: capacity, scrambled: true)
        }
        return true
    }

    /// Changes the state of a stored id. The id must be present.

    public func setState(_ id: UInt32, _ state: TransactionState) {
        let (i, found, _) = probe(id)
        precondition(found, "setState of an id the table does not hold")
        slots[i].meta = (slots[i].meta & 0x0F) | (state.rawValue << 4)
    }

    /// Calls `body` for every stored id, in table order (not id order).
    public func forEach(_ body: (UInt32, StoredTransaction) -> Void) {
        for i in 0...mask where slots[i].meta != 0 {
            body(slots[i].id, Self.decode(slots[i]))
        }
    }

    func rebuild(capacity: Int, scrambled: Bool) {
        let old = slots, oldCapacity = mask + 1
        slots = Self.allocate(capacity)
        mask = capacity - 1
        self.scrambled = scrambled
        for i in 0..<oldCapacity where old[i].meta != 0 {
            let (j, _, _) = probe(old[i].id)
            slots[j] = old[i]
        }
        free(old)
    }


    static func encode(_ id: UInt32, _ t: StoredTransaction) -> TransactionSlot {
        TransactionSlot(
            amount: t.amount.units, id: id, client: t.client,
            meta: t.kind.rawValue | (t.state.rawValue << 4), reserved: 0)
    }


    static func decode(_ s: TransactionSlot) -> StoredTransaction {
        StoredTransaction(
            kind: TransactionKind(rawValue: s.meta & 0x0F)!, client: s.client,
            amount: Amount(units: s.amount), state: TransactionState(rawValue: s.meta >> 4)!)
    }
}

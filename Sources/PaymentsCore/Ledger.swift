/// The rules of the contract (§2) over every client's account and every consumed id.
///
/// Pure: no I/O, no clock, no randomness. The batch program, the daemon and journal replay all
/// call `apply`, so the same stream always gives the same accounts. Refusals are returned as
/// `Outcome.rejected` values; the ledger never throws and never traps on input.
public final class Ledger {
    /// All 65 536 possible accounts in one flat table: a client id is its index. One slot holds
    /// all of an account, so applying a transaction touches one cache line, not three.
    let slots: UnsafeMutablePointer<AccountSlot>
    public let transactions: TransactionTable
    public private(set) var accountCount = 0

    static let exists: UInt8 = 1
    static let lockedFlag: UInt8 = 2
    public static let clientCount = Int(ClientID.max) + 1

    public init(expectedTransactions: Int = 0) {
        slots = .allocate(capacity: Self.clientCount)
        slots.initialize(repeating: AccountSlot(available: 0, held: 0, flags: 0), count: Self.clientCount)
        transactions = TransactionTable(expectedCount: expectedTransactions)
    }

    deinit { slots.deallocate() }

    /// Applies one well-formed transaction, or refuses it and changes nothing but the id rule:
    /// a deposit or withdrawal consumes its id whether or not it is applied.

    public func apply(_ t: Transaction) -> Outcome {
        let outcome: Outcome
        switch t.kind {
        case .deposit: outcome = deposit(t)
        case .withdrawal: outcome = withdraw(t)
        case .dispute: outcome = dispute(t)
        case .resolve: outcome = resolve(t)
        case .chargeback: outcome = chargeback(t)
        }
        assert(slots[Int(t.client)].available.addingReportingOverflow(slots[Int(t.client)].held).overflow == false)
        return outcome
    }

    /// Applies a batch in order, writing one outcome per transaction.
    ///
    /// Same result as calling `apply` on each, but first it reads every account slot and table
    /// slot the batch will need: those loads are independent, so their cache misses overlap
    /// instead of queueing one behind another (accounts and disputed ids are scattered).
    public func apply(_ batch: UnsafeBufferPointer<Transaction>, outcomes: UnsafeMutablePointer<Outcome>) {
        var touched: Int64 = 0
        for t in batch {
            touched &+= slots[Int(t.client)].available
            if !t.kind.movesMoney { touched &+= transactions.touch(t.tx) }
        }
        touchSink = touched
        for i in batch.indices { outcomes[i] = apply(batch[i]) }
    }

    /// Where `apply(_:outcomes:)` leaves the sum of what it touched, so the loads are not elided.
    var touchSink: Int64 = 0

    /// Consumes the id; nil when it was already used.

    func consume(_ t: Transaction, state: TransactionState) -> Bool {
        transactions.insert(t.tx, StoredTransaction(kind: t.kind, client: t.client, amount: t.amount, state: state))
    }

    func deposit(_ t: Transaction) -> Outcome {
        let c = Int(t.client)
        let refusal: Rejection?
        if slots[c].flags & Self.lockedFlag != 0 {
            refusal = .locked
        } else {
            let (newAvailable, o1) = slots[c].available.addingReportingOverflow(t.amount.units)
            let (_, o2) = newAvailable.addingReportingOverflow(slots[c].held)
            refusal = (o1 || o2) ? .overflow : nil
        }
        guard consume(t, state: refusal == nil ? .ok : .rejected) else { return .rejected(.duplicate) }
        if let refusal { return .rejected(refusal) }
        slots[c].available &+= t.amount.units
        markExists(c)
        return .applied
    }

    func withdraw(_ t: Transaction) -> Outcome {
        let c = Int(t.client)
        let refusal: Rejection?
        if slots[c].flags & Self.lockedFlag != 0 {
            refusal = .locked
        } else if slots[c].available < t.amount.units {
            refusal = .insufficientFunds
        } else {
            refusal = nil
        }
        guard consume(t, state: refusal == nil ? .ok : .rejected) else { return .rejected(.duplicate) }
        if let refusal { return .rejected(refusal) }
        // available >= amount > 0 and held >= 0, so neither the balance nor the total can overflow.
        slots[c].available &-= t.amount.units
        markExists(c)
        return .applied
    }

    /// The deposit a dispute, resolve or chargeback refers to, checked in the contract's order.
    /// A deposit that was refused moved no money, so it counts as unknown.

    func referencedDeposit(_ t: Transaction) -> Result<StoredTransaction, Rejection> {
        guard let stored = transactions.lookup(t.tx), stored.state != .rejected else { return .failure(.unknownTx) }
        guard stored.kind == .deposit else { return .failure(.notADeposit) }
        guard stored.client == t.client else { return .failure(.clientMismatch) }
        return .success(stored)
    }

    func dispute(_ t: Transaction) -> Outcome {
        let stored: StoredTransaction
        switch referencedDeposit(t) {
        case .failure(let r): return .rejected(r)
        case .success(let s): stored = s
        }
        if stored.state == .disputed { return .rejected(.alreadyDisputed) }
        if stored.state == .chargedBack { return .rejected(.chargedBack) }
        let c = Int(t.client)
        let (newAvailable, o1) = slots[c].available.subtractingReportingOverflow(stored.amount.units)
        let (newHeld, o2) = slots[c].held.addingReportingOverflow(stored.amount.units)
        if o1 || o2 { return .rejected(.overflow) }
        slots[c].available = newAvailable
        slots[c].held = newHeld
        transactions.setState(t.tx, .disputed)
        return .applied
    }

    /// The deposit a resolve or chargeback settles: it must be under dispute.
    func disputedDeposit(_ t: Transaction) -> Result<StoredTransaction, Rejection> {
        referencedDeposit(t).flatMap { $0.state == .disputed ? .success($0) : .failure(.notDisputed) }
    }

    func resolve(_ t: Transaction) -> Outcome {
        switch disputedDeposit(t) {
        case .failure(let r): return .rejected(r)
        case .success(let stored):
            // Moves held money back: held >= amount, and available + amount <= total, which fits.
            let c = Int(t.client)
            slots[c].held &-= stored.amount.units
            slots[c].available &+= stored.amount.units
            transactions.setState(t.tx, .resolved)
            return .applied
        }
    }

    func chargeback(_ t: Transaction) -> Outcome {
        switch disputedDeposit(t) {
        case .failure(let r): return .rejected(r)
        case .success(let stored):
            let c = Int(t.client)
            slots[c].held &-= stored.amount.units
            slots[c].flags |= Self.lockedFlag
            transactions.setState(t.tx, .chargedBack)
            return .applied
        }
    }

    func markExists(_ c: Int) {
        if slots[c].flags & Self.exists == 0 {
            slots[c].flags |= Self.exists
            accountCount += 1
        }
    }

    /// The account of `client`, or nil if no transaction was ever applied to it.
    public func account(_ client: ClientID) -> Account? {
        let c = Int(client)
        guard slots[c].flags & Self.exists != 0 else { return nil }
        return Account(
            client: client, available: Amount(units: slots[c].available), held: Amount(units: slots[c].held),
            locked: slots[c].flags & Self.lockedFlag != 0)
    }

    /// Every existing account in ascending client order.
    public func forEachAccount(_ body: (Account) -> Void) {
        for c in 0..<Self.clientCount where slots[c].flags & Self.exists != 0 {
            body(account(ClientID(c))!)
        }
    }

    public var accounts: [Account] {
        var result: [Account] = []
        result.reserveCapacity(accountCount)
        forEachAccount { result.append($0) }
        return result
    }
}

/// One account as the ledger stores it.
struct AccountSlot {
    var available: Int64
    var held: Int64
    /// Bit 0: the account exists (a transaction was applied to it); bit 1: it is locked.
    var flags: UInt8
}

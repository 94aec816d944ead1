/// Rebuilding a ledger from a snapshot: the snapshot codec (outside the engine) reads accounts
/// and ids back through these, and nothing else may set balances directly.
extension Ledger {
    /// Puts back one account exactly as it was saved.
    public func restore(_ account: Account) {
        let c = Int(account.client)
        slots[c].available = account.available.units
        slots[c].held = account.held.units
        markExists(c)
        if account.locked { slots[c].flags |= Self.lockedFlag }
    }

    /// Puts back one consumed id with its state. Returns false for an id already present, which
    /// a well-formed snapshot never holds.
    public func restore(id: TransactionID, _ stored: StoredTransaction) -> Bool {
        transactions.insert(id, stored)
    }
}

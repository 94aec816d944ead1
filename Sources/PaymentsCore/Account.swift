/// One client's balances. `total` is derived, never stored, so it cannot disagree with its parts.
public struct Account: Hashable, Sendable {
    public var client: ClientID
    public var available: Amount
    public var held: Amount
    public var locked: Bool

    @inlinable
    public init(client: ClientID, available: Amount, held: Amount, locked: Bool) {
        self.client = client
        self.available = available
        self.held = held
        self.locked = locked
    }

    /// `available + held`. The ledger refuses any transaction after which this would not fit, so
    /// for an account it holds it never overflows.
    @inlinable public var total: Amount { Amount(units: available.units &+ held.units) }
}

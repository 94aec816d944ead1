/// A client id: the contract fixes clients to 16 bits, so accounts live in a flat table.
public typealias ClientID = UInt16

/// A transaction id: 32 bits, unique across deposits and withdrawals of all clients.
public typealias TransactionID = UInt32

/// The five kinds of transaction. Raw values are part of the journal's record format: never
/// renumber them.
public enum TransactionKind: UInt8, Sendable, CaseIterable {
    case deposit = 1
    case withdrawal = 2
    case dispute = 3
    case resolve = 4
    case chargeback = 5

    /// The word used in CSV, JSON and replies.
    public var name: String {
        switch self {
        case .deposit: "deposit"
        case .withdrawal: "withdrawal"
        case .dispute: "dispute"
        case .resolve: "resolve"
        case .chargeback: "chargeback"
        }
    }

    /// Deposits and withdrawals move money and consume their id; the other three refer to a deposit.
    @inlinable public var movesMoney: Bool { rawValue <= 2 }
}

/// One well-formed transaction. `amount` is zero for disputes, resolves and chargebacks, whose
/// amount comes from the deposit they refer to.
public struct Transaction: Hashable, Sendable {
    public var kind: TransactionKind
    public var client: ClientID
    public var tx: TransactionID
    public var amount: Amount

    @inlinable
    public init(kind: TransactionKind, client: ClientID, tx: TransactionID, amount: Amount = .zero) {
        self.kind = kind
        self.client = client
        self.tx = tx
        self.amount = amount
    }
}

/// Why the rules refused a well-formed transaction. Business failures are values, not throws.
/// Raw values are stored in snapshots and history: never renumber them.
public enum Rejection: UInt8, Sendable, CaseIterable, Error {
    /// The id was already used by an earlier deposit or withdrawal.
    case duplicate = 1
    /// The account is frozen after a chargeback: no deposits or withdrawals.
    case locked = 2
    /// A balance would leave the range of a signed 64-bit count of ten-thousandths.
    case overflow = 3
    case insufficientFunds = 4
    /// A dispute, resolve or chargeback names an id nobody used.
    case unknownTx = 5
    /// Only deposits can be disputed.
    case notADeposit = 6
    /// The disputed deposit belongs to another client.
    case clientMismatch = 7
    case alreadyDisputed = 8
    /// The deposit was charged back: it is final.
    case chargedBack = 9
    /// A resolve or chargeback of a deposit that is not under dispute.
    case notDisputed = 10

    /// The reason as the protocol and `--verbose` print it (`REJECTED insufficient funds`).
    public var reason: String {
        switch self {
        case .duplicate: "duplicate"
        case .locked: "locked"
        case .overflow: "overflow"
        case .insufficientFunds: "insufficient funds"
        case .unknownTx: "unknown tx"
        case .notADeposit: "not a deposit"
        case .clientMismatch: "client mismatch"
        case .alreadyDisputed: "already disputed"
        case .chargedBack: "charged back"
        case .notDisputed: "not disputed"
        }
    }
}

/// What the ledger did with one transaction.
public enum Outcome: Hashable, Sendable {
    case applied
    case rejected(Rejection)

    @inlinable public var isApplied: Bool { if case .applied = self { true } else { false } }

    /// One byte for history and snapshots: 0 is applied, otherwise the rejection's raw value.
    @inlinable public var code: UInt8 {
        switch self {
        case .applied: 0
        case .rejected(let r): r.rawValue
        }
    }

    @inlinable public init?(code: UInt8) {
        if code == 0 { self = .applied; return }
        guard let r = Rejection(rawValue: code) else { return nil }
        self = .rejected(r)
    }
}

public import PaymentsCore

/// A transaction as the journal stores it, little-endian.
///
/// Version 1 (journals written before the change stream): kind (1 byte), client (2), tx (4),
/// and for deposits and withdrawals the amount (8): 7 or 15 bytes.
///
/// Version 2 (written now) appends what the ledger did with it, so that a follower of the change
/// stream (§10) can be served any record kept, without replaying the journal up to it:
///
///     outcome   1 byte     `Outcome.code` (0 applied, else the `Rejection` raw value)
///     available Int64      the client's account after the transaction
///     held      Int64
///     flags     1 byte     bit 0: the account exists; bit 1: it is locked
///
/// 25 or 33 bytes. The four sizes differ, so one decoder reads both versions; the segment and
/// PostgreSQL format versions were raised with it so that an older build refuses a journal it
/// would misread instead of failing on its first version 2 record.
public enum TransactionRecord {
    public static let maxSize = 33
    /// The bytes version 2 adds after the version 1 fields.
    public static let effectBytes = 18

    static let accountExists: UInt8 = 1
    static let accountLocked: UInt8 = 2

    /// What the ledger did with a transaction, as a version 2 record keeps it.
    public struct Effect: Hashable, Sendable {
        public var outcome: Outcome
        /// The client's account after the transaction; nil when it does not exist (a rejected
        /// transaction of a client that never had one applied creates no account, §2).
        public var account: Account?
        public init(outcome: Outcome, account: Account?) {
            self.outcome = outcome
            self.account = account
        }
    }

    /// Writes the version 1 fields of `t` at `out` (at least `maxSize` bytes) and returns how
    /// many bytes they took; `encodeEffect` fills the rest of a version 2 record after them.
    @inline(__always)
    public static func encode(_ t: Transaction, into out: UnsafeMutableRawPointer) -> Int {
        out.storeBytes(of: t.kind.rawValue, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: t.client.littleEndian, toByteOffset: 1, as: UInt16.self)
        out.storeBytes(of: t.tx.littleEndian, toByteOffset: 3, as: UInt32.self)
        guard t.kind.movesMoney else { return 7 }
        out.storeBytes(of: t.amount.units.littleEndian, toByteOffset: 7, as: Int64.self)
        return 15
    }

    /// Writes the version 2 tail (`effectBytes`) at `out`, just after the version 1 fields.
    @inline(__always)
    public static func encodeEffect(_ outcome: Outcome, _ account: Account?, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: outcome.code, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: (account?.available.units ?? 0).littleEndian, toByteOffset: 1, as: Int64.self)
        out.storeBytes(of: (account?.held.units ?? 0).littleEndian, toByteOffset: 9, as: Int64.self)
        let flags = account.map { $0.locked ? accountExists | accountLocked : accountExists } ?? 0
        out.storeBytes(of: flags, toByteOffset: 17, as: UInt8.self)
    }

    /// The size of the version 1 fields of `t`.
    @inline(__always)
    public static func size(of t: Transaction) -> Int { t.kind.movesMoney ? 15 : 7 }

    /// The size of a version 2 record of `t` (what the journal writes now).
    @inline(__always)
    public static func sizeWithEffect(of t: Transaction) -> Int { size(of: t) + effectBytes }

    /// Reads the transaction of a record of either version; nil when the bytes are not one.
    @inline(__always)
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Transaction? {
        let base: Int
        switch bytes.count {
        case 7, 15: base = bytes.count
        case 7 + effectBytes, 15 + effectBytes: base = bytes.count - effectBytes
        default: return nil
        }
        guard let kind = TransactionKind(rawValue: bytes[0]), (base == 15) == kind.movesMoney else { return nil }
        let client = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 1, as: UInt16.self))
        let tx = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 3, as: UInt32.self))
        var amount = Amount.zero
        if kind.movesMoney {
            amount = Amount(units: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 7, as: Int64.self)))
            if amount.units <= 0 { return nil }
        }
        return Transaction(kind: kind, client: client, tx: tx, amount: amount)
    }

    /// What a record read back holds.
    public enum Decoded: Hashable, Sendable {
        /// A version 2 record: the transaction and what the ledger did with it.
        case full(Transaction, Effect)
        /// A version 1 record: the transaction alone (its outcome was never journaled).
        case transactionOnly(Transaction)
        /// Not a record of either version.
        case invalid
    }

    /// Reads a record of either version with everything it holds.
    public static func decodeFull(_ bytes: UnsafeRawBufferPointer) -> Decoded {
        guard let t = decode(bytes) else { return .invalid }
        guard bytes.count == size(of: t) + effectBytes else { return .transactionOnly(t) }
        let at = size(of: t)
        guard let outcome = Outcome(code: bytes[at]) else { return .invalid }
        let available = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 1, as: Int64.self))
        let held = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 9, as: Int64.self))
        let flags = bytes[at + 17]
        guard flags & ~(accountExists | accountLocked) == 0 else { return .invalid }
        var account: Account?
        if flags & accountExists != 0 {
            account = Account(client: t.client, available: Amount(units: available), held: Amount(units: held),
                              locked: flags & accountLocked != 0)
        } else if available != 0 || held != 0 || flags != 0 {
            return .invalid
        }
        return .full(t, Effect(outcome: outcome, account: account))
    }
}

public import PaymentsCore

/// A transaction as the journal stores it: kind (1 byte), client (2), tx (4), and for deposits
/// and withdrawals the amount (8), little-endian. 15 or 7 bytes instead of the input text.
/// The layout is part of the journal format (version 1): change it only with a new version.
public enum TransactionRecord {
    public static let maxSize = 15

    /// Writes `t` at `out` (at least `maxSize` bytes) and returns how many bytes it took.
    @inline(__always)
    public static func encode(_ t: Transaction, into out: UnsafeMutableRawPointer) -> Int {
        out.storeBytes(of: t.kind.rawValue, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: t.client.littleEndian, toByteOffset: 1, as: UInt16.self)
        out.storeBytes(of: t.tx.littleEndian, toByteOffset: 3, as: UInt32.self)
        guard t.kind.movesMoney else { return 7 }
        out.storeBytes(of: t.amount.units.littleEndian, toByteOffset: 7, as: Int64.self)
        return 15
    }

    /// The size `encode` will use for `t`.
    @inline(__always)
    public static func size(of t: Transaction) -> Int { t.kind.movesMoney ? 15 : 7 }

    /// Reads a record back; nil when the bytes are not a record of this format.
    @inline(__always)
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Transaction? {
        guard bytes.count == 7 || bytes.count == 15, let kind = TransactionKind(rawValue: bytes[0]) else { return nil }
        guard (bytes.count == 15) == kind.movesMoney else { return nil }
        let client = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 1, as: UInt16.self))
        let tx = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 3, as: UInt32.self))
        var amount = Amount.zero
        if kind.movesMoney {
            amount = Amount(units: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 7, as: Int64.self)))
            if amount.units <= 0 { return nil }
        }
        return Transaction(kind: kind, client: client, tx: tx, amount: amount)
    }
}

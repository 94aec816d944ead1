import PaymentsRedis

/// The changes of one batch of stream lines, coalesced per account (the last change of an
/// account in the batch wins: it is the account's state after the batch), and encoded as one
/// Redis transaction:
///
///     MULTI
///     <before commands>
///     HSET account:<client> client C available A held H total T locked true|false   (per account)
///     <after commands>         (SET payments:lsn N XX, ...)
///     EXEC
///
/// Amounts are copied as the daemon wrote them into an arena cleared per batch: no allocation
/// per line.
public struct MirrorBatch {
    /// Lines in one batch at most: the bound on a Redis transaction's size (and on the
    /// memory Redis needs to queue it).
    public static let maxLines = 65_536

    private struct Entry {
        var client: UInt16
        var available: Range<Int>
        var held: Range<Int>
        var total: Range<Int>
        var locked: Bool
    }

    /// For each client, its entry's index plus one (0: none in this batch).
    private var slots = [Int32](repeating: 0, count: 65_536)
    private var entries: [Entry] = []
    private var arena: [UInt8] = []
    /// Stream lines added since the last `reset`.
    public private(set) var lines = 0
    /// The LSN of the last line added.
    public private(set) var lastLSN: UInt64 = 0
    /// Whether a snapshot line is in the batch.
    public private(set) var hasSnapshotLines = false
    /// Whether a transaction line (not a snapshot line) is in the batch.
    public private(set) var hasRecords = false

    public init() {}

    public var isEmpty: Bool { lines == 0 }
    public var isFull: Bool { lines >= Self.maxLines }
    /// Accounts the batch writes.
    public var accounts: Int { entries.count }

    /// Adds one parsed line; `bytes` is the line `change` was read from.
    public mutating func add(_ change: ChangeLine, from bytes: UnsafeBufferPointer<UInt8>) {
        lines += 1
        lastLSN = change.lsn
        if change.isSnapshot { hasSnapshotLines = true } else { hasRecords = true }
        guard let account = change.account else { return }
        let entry = Entry(
            client: account.client, available: copy(account.available, bytes), held: copy(account.held, bytes),
            total: copy(account.total, bytes), locked: account.locked)
        let slot = Int(account.client)
        if slots[slot] == 0 {
            entries.append(entry)
            slots[slot] = Int32(entries.count)
        } else {
            entries[Int(slots[slot]) - 1] = entry
        }
    }

    private mutating func copy(_ range: Range<Int>, _ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let start = arena.count
        arena.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
        return start..<arena.count
    }

    /// The Redis commands of the batch, `MULTI` to `EXEC`, appended to `out`. Returns how many
    /// commands `EXEC`'s reply array will hold (`before` + one per account + `after`).
    public func encode(before: [[String]], after: [[String]], into out: inout [UInt8]) -> Int {
        RESPCommand.append(["MULTI"], to: &out)
        for command in before { RESPCommand.append(command, to: &out) }
        for entry in entries { encode(entry, into: &out) }
        for command in after { RESPCommand.append(command, to: &out) }
        RESPCommand.append(["EXEC"], to: &out)
        return before.count + entries.count + after.count
    }

    private static let hset = Array("HSET".utf8), client = Array("client".utf8)
    private static let available = Array("available".utf8), held = Array("held".utf8)
    private static let total = Array("total".utf8), locked = Array("locked".utf8)
    private static let yes = Array("true".utf8), no = Array("false".utf8)

    private func encode(_ entry: Entry, into out: inout [UInt8]) {
        RESPCommand.appendHeader(12, to: &out)
        RESPCommand.appendArgument(Self.hset, to: &out)
        RESPCommand.appendArgument(Self.key(entry.client), to: &out)
        RESPCommand.appendArgument(Self.client, to: &out)
        RESPCommand.appendArgument(decimal: UInt64(entry.client), to: &out)
        RESPCommand.appendArgument(Self.available, to: &out)
        RESPCommand.appendArgument(arena[entry.available], to: &out)
        RESPCommand.appendArgument(Self.held, to: &out)
        RESPCommand.appendArgument(arena[entry.held], to: &out)
        RESPCommand.appendArgument(Self.total, to: &out)
        RESPCommand.appendArgument(arena[entry.total], to: &out)
        RESPCommand.appendArgument(Self.locked, to: &out)
        RESPCommand.appendArgument(entry.locked ? Self.yes : Self.no, to: &out)
    }

    /// `account:<client>`, the hash of one account.
    public static func key(_ client: UInt16) -> ArraySlice<UInt8> {
        var out = Array("account:".utf8)
        out.append(contentsOf: String(client).utf8)
        return out[...]
    }

    public mutating func reset() {
        for entry in entries { slots[Int(entry.client)] = 0 }
        entries.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        lines = 0
        hasSnapshotLines = false
        hasRecords = false
    }
}

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
/// Each account line is encoded as its `HSET` when it is added, straight into one buffer
/// reused from batch to batch (precomputed field-name fragments, no allocation per line), so
/// that most of the work is done while Redis applies the batch before; `encode` then only
/// copies each account's last command.
public struct MirrorBatch {
    /// Lines in one batch at most: the bound on a Redis transaction's size (and on the
    /// memory Redis needs to queue it).
    public static let maxLines = 65_536

    private struct Entry {
        var client: UInt16
        /// The bytes of the account's last `HSET` in `commands`.
        var command: Range<Int>
    }

    /// For each client, its entry's index plus one (0: none in this batch).
    private var slots = [Int32](repeating: 0, count: 65_536)
    private var entries: [Entry] = []
    /// The `HSET` of every account line added since the last `reset`, one after another.
    private var commands: [UInt8] = []
    /// Bytes of the entries' commands (the last of each account).
    private var entryBytes = 0
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
        let start = commands.count
        HSETEncoder.append(account, from: bytes, to: &commands)
        let entry = Entry(client: account.client, command: start..<commands.count)
        let slot = Int(account.client)
        if slots[slot] == 0 {
            entries.append(entry)
            slots[slot] = Int32(entries.count)
        } else {
            let index = Int(slots[slot]) - 1
            entryBytes -= entries[index].command.count
            entries[index] = entry
        }
        entryBytes += entry.command.count
    }

    /// The Redis commands of the batch, `MULTI` to `EXEC`, appended to `out`. Returns how many
    /// commands `EXEC`'s reply array will hold (`before` + one per account + `after`).
    public func encode(before: [[String]], after: [[String]], into out: inout [UInt8]) -> Int {
        out.reserveCapacity(out.count + entryBytes + 64 * (before.count + after.count + 2))
        RESPCommand.append(["MULTI"], to: &out)
        for command in before { RESPCommand.append(command, to: &out) }
        commands.withUnsafeBufferPointer { all in
            for entry in entries { out.append(contentsOf: UnsafeBufferPointer(rebasing: all[entry.command])) }
        }
        for command in after { RESPCommand.append(command, to: &out) }
        RESPCommand.append(["EXEC"], to: &out)
        return before.count + entries.count + after.count
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
        commands.removeAll(keepingCapacity: true)
        entryBytes = 0
        lines = 0
        hasSnapshotLines = false
        hasRecords = false
    }
}

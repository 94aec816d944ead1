import PaymentsCore
import PaymentsFormat
import PaymentsJournal

/// Where a follower starts (§10): `FOLLOW`, `FOLLOW <lsn>`, `FOLLOW SNAPSHOT`.
enum FollowStart: Equatable {
    /// From the next record journaled after the request.
    case next
    /// From this LSN on (0 means from the start, the same as 1).
    case lsn(UInt64)
    /// Every account as of some LSN L, then the records after L.
    case snapshot
}

/// The change stream of §10 on the event loop: connections that asked to follow the journal,
/// each reading it through a cursor of its own.
///
/// - Served from the journal, never from memory: a record is read back (from the page cache,
///   usually) once it is safe by the same rule as a reply (`DurableEngine.releasableLSN`:
///   on stable storage under `--fsync always` and on PostgreSQL, written to the OS under the
///   weaker policies), so a follower never sees what a crash could take back.
/// - Backpressure: a follower is given lines only while its unsent output is under the
///   connection's high-water mark; above it the cursor simply stays where it is, and
///   `connectionDrained` resumes it. A follower that never reads costs its cursor's buffer and
///   one high-water mark of output, whatever is ingested meanwhile.
/// - Order with the replies before `FOLLOW` on the same connection: the stream starts only once
///   they are all released (the journal made them safe).
final class ChangeStream {
    /// How a follower's lines are framed on its connection.
    enum Framing {
        /// The line protocol: the lines as they are; an error ends with `ERR ...`.
        case lines
        /// HTTP/1.1 chunked body (`GET /events`), one chunk per pump.
        case chunked
        /// HTTP/1.0: the lines as the body, ended by closing the connection.
        case closeDelimited
    }

    final class Follower {
        let connection: Connection
        let framing: Framing
        var cursor: (any JournalCursor)?
        /// `FOLLOW SNAPSHOT`: the accounts as of `snapshotLSN`, sent once that LSN is safe.
        var snapshot: [Account]?
        var snapshotLSN: UInt64 = 0
        var snapshotSent = 0
        var from: UInt64
        /// Replies written before the stream started are not all released yet.
        var waitingForReplies = true
        /// Ended while those replies were held: the error to send once they are out ("" none).
        var pendingEnd: String?

        init(connection: Connection, framing: Framing, from: UInt64) {
            self.connection = connection
            self.framing = framing
            self.from = from
        }
    }

    unowned let service: DaemonService
    private var followers: [UInt64: Follower] = [:]
    /// Lines sent since start (records and snapshot accounts), for `STATS` and `/metrics`.
    private(set) var linesStreamed: UInt64 = 0
    /// Lines rendered for the follower being pumped, handed to its connection in one append
    /// once `sendBytes` are there (and at the end of the pump). Rendered in place
    /// (`ChangeText.render`): no allocation per line.
    private let scratch: UnsafeMutablePointer<UInt8>
    private var scratchUsed = 0
    /// Records a cursor hands over per read: one read renders about 200 KiB of lines.
    static let recordsPerRead = 1024
    /// Accounts of a snapshot rendered per step.
    static let accountsPerStep = 1024
    /// Rendered bytes handed to the connection at once.
    static let sendBytes = 256 << 10
    /// Room for `sendBytes` and one more read or step of lines at their longest (640 KiB).
    static let scratchBytes = sendBytes + max(recordsPerRead, accountsPerStep) * ChangeText.maxLineBytes

    init(service: DaemonService) {
        self.service = service
        scratch = .allocate(capacity: Self.scratchBytes)
    }

    deinit { scratch.deallocate() }

    var followerCount: Int { followers.count }

    /// Turns `connection` into a follower; the error text (after `ERR `) when it cannot start.
    /// The caller has written every reply before the request, and stops reading the connection.
    func follow(_ connection: Connection, _ start: FollowStart, framing: Framing) -> String? {
        let durable = service.durable
        let follower: Follower
        switch start {
        case .next:
            follower = Follower(connection: connection, framing: framing, from: durable.journal.lastLSN + 1)
        case .lsn(let lsn):
            let from = max(lsn, 1)
            let oldest = durable.journal.oldestReadableLSN
            if from < oldest { return Self.goneMessage(oldest: oldest) }
            follower = Follower(connection: connection, framing: framing, from: from)
        case .snapshot:
            // The state now is the state at the last record appended: copied (at most 65 536
            // accounts, 1.5 MiB), and sent only once that record is safe.
            let lsn = durable.journal.lastLSN
            follower = Follower(connection: connection, framing: framing, from: lsn + 1)
            follower.snapshot = durable.engine.ledger.accounts
            follower.snapshotLSN = lsn
        }
        followers[connection.id] = follower
        service.log.debug("connection \(connection.id) follows the journal from record \(follower.from)")
        return nil
    }

    static func goneMessage(oldest: UInt64) -> String { "lsn gone: oldest is \(oldest)" }

    /// After the committer's wake and once per loop iteration: every follower gets what became safe.
    func pumpAll() {
        guard !followers.isEmpty else { return }
        if service.loop.isStopping { return closeAll() }
        for follower in followers.values { pump(follower) }
    }

    /// The follower's connection fell to its low-water mark.
    func drained(_ connection: Connection) {
        guard let follower = followers[connection.id] else { return }
        pump(follower)
    }

    func closed(_ connection: Connection) {
        guard let follower = followers.removeValue(forKey: connection.id) else { return }
        follower.cursor?.close()
    }

    /// The state was rebuilt (records cut off the journal after a full disk, or leadership lost
    /// with records never committed): a snapshot copied before may show effects that will never
    /// be durable, so followers still waiting to send one are ended.
    func stateRebuilt() {
        for follower in followers.values where follower.snapshot != nil && follower.snapshotSent == 0 {
            end(follower, error: "state rebuilt before the snapshot was safe: follow again")
        }
    }

    /// The daemon stops: followers get what was rendered and their connections close.
    func closeAll() {
        for follower in followers.values { end(follower, error: nil) }
    }

    private func pump(_ f: Follower) {
        let connection = f.connection
        guard !connection.isClosed, !connection.isClosing else { return }
        if f.waitingForReplies {
            guard connection.output.releasedBytes == connection.output.appendedBytes else { return }
            f.waitingForReplies = false
        }
        if let pending = f.pendingEnd { return end(f, error: pending.isEmpty ? nil : pending) }
        let safe = service.durable.releasableLSN
        let highWater = connection.output.highWaterBytes
        while connection.output.pendingBytes + scratchUsed <= highWater {
            if scratchUsed >= Self.sendBytes { send(f) }
            if let accounts = f.snapshot {
                guard safe >= f.snapshotLSN else { break }
                let end = min(accounts.count, f.snapshotSent + Self.accountsPerStep)
                var p = scratch + scratchUsed
                for account in accounts[f.snapshotSent..<end] {
                    p = ChangeText.renderSnapshot(lsn: f.snapshotLSN, account, at: p)
                }
                scratchUsed = p - scratch
                linesStreamed += UInt64(end - f.snapshotSent)
                f.snapshotSent = end
                if end == accounts.count { f.snapshot = nil }
                continue
            }
            if f.from > safe { break }
            if f.cursor == nil { f.cursor = service.durable.journal.makeCursor(from: f.from) }
            var stop: String?
            let progress: CursorProgress
            var p = scratch + scratchUsed
            do {
                progress = try f.cursor!.read(through: safe, maxRecords: Self.recordsPerRead) { lsn, payload in
                    guard stop == nil else { return }
                    switch TransactionRecord.decodeFull(payload) {
                    case .full(let t, let effect): p = ChangeText.render(lsn: lsn, t, effect, at: p)
                    case .transactionOnly:
                        stop = "lsn gone: record \(lsn) was journaled without its outcome (journal format 1)"
                    case .invalid: stop = "journal record \(lsn) is not a transaction"
                    }
                }
            } catch {
                scratchUsed = p - scratch
                service.log.warning("follower on connection \(connection.id): \(error)")
                return end(f, error: "journal unavailable: \(error)")
            }
            scratchUsed = p - scratch
            assert(scratchUsed <= Self.scratchBytes, "rendered past the scratch buffer")
            if let stop { return end(f, error: stop) }
            switch progress {
            case .gone(let oldest): return end(f, error: Self.goneMessage(oldest: oldest))
            case .records(let n):
                linesStreamed += UInt64(n)
                f.from = f.cursor!.nextLSN
            }
            if case .records(0) = progress { break }
        }
        send(f)
        if connection.output.isAboveHighWater { connection.notifyWhenDrained = true }
    }

    /// Writes what was rendered for `f`, framed, and lets it go at once (it is safe already).
    private func send(_ f: Follower) {
        guard scratchUsed > 0 else { return }
        let connection = f.connection
        if f.framing == .chunked { connection.write(Array(String(scratchUsed, radix: 16).utf8) + [0x0D, 0x0A]) }
        connection.write(UnsafeRawBufferPointer(start: scratch, count: scratchUsed))
        if f.framing == .chunked { connection.write([0x0D, 0x0A]) }
        connection.releaseAll()
        scratchUsed = 0
    }

    /// Ends a follower: what it has, an error line if any, the end of the body, then the close.
    private func end(_ f: Follower, error: String?) {
        let connection = f.connection
        guard !connection.isClosed, !connection.isClosing else { return }
        if connection.output.releasedBytes < connection.output.appendedBytes && f.pendingEnd == nil && f.waitingForReplies {
            // Replies before the stream are still held: end after them (`pump` comes back).
            f.pendingEnd = error ?? ""
            return
        }
        if let error {
            var line: [UInt8] = []
            switch f.framing {
            case .lines: line.append(contentsOf: "ERR \(error)\n".utf8)
            case .chunked, .closeDelimited: HTTPResponse.appendErrorBody(message: error, to: &line); line.append(0x0A)
            }
            // With the lines rendered before it (one chunk), unless it would not fit.
            if scratchUsed + line.count > Self.scratchBytes { send(f) }
            line.withUnsafeBufferPointer { text in
                let n = min(text.count, Self.scratchBytes - scratchUsed)
                (scratch + scratchUsed).update(from: text.baseAddress!, count: n)
                scratchUsed += n
            }
        }
        send(f)
        if f.framing == .chunked { connection.write(Array("0\r\n\r\n".utf8)) }
        connection.releaseAll()
        if connection.isParked { connection.unpark() }
        connection.closeAfterFlush()
    }
}

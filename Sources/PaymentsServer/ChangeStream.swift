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
///   weaker policies), so a follower never sees what a crash could take back. On PostgreSQL
///   the cursor reads the newest committed rows from memory and older ones through a thread of
///   the journal's (`PostgresCursor`): a read that has nothing yet returns no records, and the
///   committer's wake brings the follower back when the page came.
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
        /// The hash of the token it follows with, on a listener with tokens (§9): a follower sends
        /// nothing after `FOLLOW`, so a revoked token is checked at reload, not at a next request.
        var tokenHash: [UInt8]?

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
    /// Records a cursor hands over per read: one read renders about 200 KiB of lines.
    static let recordsPerRead = 1024
    /// Accounts of a snapshot rendered per step.
    static let accountsPerStep = 1024
    /// Rendered bytes let go to the connection at once (one chunk over HTTP).
    static let sendBytes = 256 << 10

    init(service: DaemonService) {
        self.service = service
    }

    var followerCount: Int { followers.count }

    /// Turns `connection` into a follower; the error text (after `ERR `) when it cannot start.
    /// The caller has written every reply before the request, and stops reading the connection.
    func follow(_ connection: Connection, _ start: FollowStart, framing: Framing, tokenHash: [UInt8]? = nil) -> String? {
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
        // The stream keeps its connection's output buffer busy: it keeps its memory rather than
        // reallocating it (bounded by `OutputBuffer.reserve`: the high-water mark and one read
        // of lines, doubled, and at most twice that).
        connection.output.retainedCapacity = .max
        follower.tokenHash = tokenHash
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

    /// The token list was reloaded (SIGHUP): a follower whose token is no longer in it gets what
    /// was rendered, `ERR auth failed: the token was revoked`, and the close.
    func revokeFollowers(_ tokens: Tokens) {
        for follower in followers.values {
            guard let hash = follower.tokenHash, tokens.entry(forHash: hash) == nil else { continue }
            end(follower, error: "auth failed: the token was revoked")
        }
    }

    /// The daemon stops: followers get what was rendered and their connections close.
    func closeAll() {
        for follower in followers.values { end(follower, error: nil) }
    }

    /// Renders what became safe for `f` straight into its connection's output (`ChangeText.render`:
    /// no allocation, no copy), until the output is above its high-water mark or the follower has
    /// everything safe. Rendered bytes are held until `send` lets them go, a chunk at a time.
    private func pump(_ f: Follower) {
        let connection = f.connection
        guard !connection.isClosed, !connection.isClosing else { return }
        let output = connection.output
        if f.waitingForReplies {
            guard output.releasedBytes == output.appendedBytes else { return }
            f.waitingForReplies = false
        }
        if let pending = f.pendingEnd { return end(f, error: pending.isEmpty ? nil : pending) }
        let safe = service.durable.releasableLSN
        while output.pendingBytes <= output.highWaterBytes {
            if output.appendedBytes - output.releasedBytes >= UInt64(Self.sendBytes) { send(f) }
            if let accounts = f.snapshot {
                guard safe >= f.snapshotLSN else { break }
                let range = f.snapshotSent..<min(accounts.count, f.snapshotSent + Self.accountsPerStep)
                output.append(atMost: range.count * ChangeText.maxLineBytes) { start in
                    var p = start
                    for account in accounts[range] { p = ChangeText.renderSnapshot(lsn: f.snapshotLSN, account, at: p) }
                    return p - start
                }
                linesStreamed += UInt64(range.count)
                f.snapshotSent = range.upperBound
                if range.upperBound == accounts.count { f.snapshot = nil }
                continue
            }
            if f.from > safe { break }
            if f.cursor == nil { f.cursor = service.durable.journal.makeCursor(from: f.from) }
            let cursor = f.cursor!
            // Room for the records that can come, at their longest.
            let most = Int(min(UInt64(Self.recordsPerRead), safe - f.from + 1))
            var stop: String?
            var failure: JournalError?
            var progress = CursorProgress.records(0)
            output.append(atMost: most * ChangeText.maxLineBytes) { start in
                var p = start
                do throws(JournalError) {
                    progress = try cursor.read(through: safe, maxRecords: most) { lsn, payload in
                        guard stop == nil else { return }
                        switch TransactionRecord.decodeFull(payload) {
                        case .full(let t, let effect): p = ChangeText.render(lsn: lsn, t, effect, at: p)
                        case .transactionOnly:
                            stop = "lsn gone: record \(lsn) was journaled without its outcome (journal format 1)"
                        case .invalid: stop = "journal record \(lsn) is not a transaction"
                        }
                    }
                } catch {
                    failure = error
                }
                return p - start
            }
            if let failure {
                service.log.warning("follower on connection \(connection.id): \(failure)")
                return end(f, error: "journal unavailable: \(failure)")
            }
            if let stop { return end(f, error: stop) }
            switch progress {
            case .gone(let oldest): return end(f, error: Self.goneMessage(oldest: oldest))
            case .records(let n):
                linesStreamed += UInt64(n)
                f.from = cursor.nextLSN
            }
            if case .records(0) = progress { break }
        }
        send(f)
        if output.isAboveHighWater { connection.notifyWhenDrained = true }
    }

    /// Lets go what was rendered for `f` since the last send (it is safe already), framed: over
    /// HTTP chunked, its size goes in front and it becomes one chunk.
    private func send(_ f: Follower) {
        let output = f.connection.output
        let mark = output.releasedBytes
        let size = output.appendedBytes - mark
        guard size > 0 else { return }
        if f.framing == .chunked {
            output.insert(Array(String(size, radix: 16).utf8) + [0x0D, 0x0A], at: mark)
            output.append([0x0D, 0x0A])
        }
        f.connection.releaseAll()
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
            // In the same chunk as the lines rendered before it (held, not yet sent).
            var line: [UInt8] = []
            switch f.framing {
            case .lines: line.append(contentsOf: "ERR \(error)\n".utf8)
            case .chunked, .closeDelimited: HTTPResponse.appendErrorBody(message: error, to: &line); line.append(0x0A)
            }
            connection.output.append(line)
        }
        send(f)
        if f.framing == .chunked { connection.write(Array("0\r\n\r\n".utf8)) }
        connection.releaseAll()
        if connection.isParked { connection.unpark() }
        connection.closeAfterFlush()
    }
}

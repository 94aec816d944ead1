public import PaymentsRedis

/// The mirror's batches sent to Redis and not yet answered, oldest first, at most
/// `maxBatches`: while Redis applies one, the next is already on its way, so Redis never waits
/// for the mirror to turn an `EXEC` reply into the next send.
///
/// Why two in flight keep `payments:lsn` right: each batch is one `MULTI` … `EXEC` whose last
/// commands write `payments:lsn` (with `XX`, or the rebuild's `RENAME`) in the same
/// transaction as its hashes, and Redis executes one connection's commands in the order they
/// were sent, each `EXEC` atomically. So whatever happens to the connection, Redis holds the
/// batches up to some k applied whole and nothing of the ones after: a `MULTI` whose `EXEC`
/// never arrived is discarded when the connection closes. `payments:lsn` then names exactly
/// batch k's last LSN, and a new session resumes from what Redis says, never from what this
/// session sent. `appliedLSN` only moves when a batch's own `EXEC` reply has been checked.
public struct MirrorInFlight {
    /// Batches in Redis at once at most: one applying, one queued behind it.
    public static let maxBatches = 2

    /// One batch sent: what its replies must show.
    public struct Batch: Sendable {
        /// Replies still due: `MULTI`'s, one per queued command, `EXEC`'s.
        public var repliesDue: Int
        /// Results in `EXEC`'s array that must be neither nil nor an error (the writes of
        /// `payments:lsn` and of the rebuild key, which find no key when Redis lost its data).
        public var checks: [(index: Int, what: String)]
        /// The LSN `payments:lsn` holds once this batch is applied.
        public var lastLSN: UInt64
        /// Whether this batch renames the rebuild key to `payments:lsn`.
        public var completesRebuild: Bool
        /// Commands between `MULTI` and `EXEC`.
        public var commands: Int
        /// The first error among `MULTI`'s and the `QUEUED` replies.
        public var firstError: String?

        public init(commands: Int, checks: [(index: Int, what: String)], lastLSN: UInt64, completesRebuild: Bool) {
            repliesDue = commands + 2
            self.checks = checks
            self.lastLSN = lastLSN
            self.completesRebuild = completesRebuild
            self.commands = commands
        }
    }

    /// What an `EXEC` reply says about its batch.
    public enum Verdict: Equatable, Sendable {
        /// Applied whole: Redis reflects `lsn` now.
        case applied(lsn: UInt64, completesRebuild: Bool)
        /// A write of `payments:lsn` or the rebuild key found no key: Redis lost its data.
        case lostData(String)
        /// `EXEC` failed or a command in it did: start over from what Redis holds.
        case refused(String)
    }

    private var batches: [Batch] = []

    public init() {}

    public var count: Int { batches.count }
    public var isEmpty: Bool { batches.isEmpty }
    public var isFull: Bool { batches.count >= Self.maxBatches }

    /// Records a batch just written to the connection.
    public mutating func sent(_ batch: Batch) {
        precondition(!isFull, "more than \(Self.maxBatches) batches in flight")
        batches.append(batch)
    }

    /// Takes one reply, which belongs to the oldest batch; returns that batch's verdict when
    /// the reply was its `EXEC`'s (the batch is then no longer in flight), else nil.
    public mutating func take(_ reply: RESPValue) -> (batch: Batch, verdict: Verdict)? {
        precondition(!batches.isEmpty, "a Redis reply with no batch in flight")
        batches[0].repliesDue -= 1
        if batches[0].repliesDue > 0 {
            if case .error(let text) = reply, batches[0].firstError == nil { batches[0].firstError = text }
            return nil
        }
        let batch = batches.removeFirst()
        return (batch, Self.verdict(batch, reply))
    }

    /// Checks `EXEC`'s reply against what `batch` needs.
    public static func verdict(_ batch: Batch, _ reply: RESPValue) -> Verdict {
        guard case .array(let results?) = reply, results.count == batch.commands else {
            return .refused(batch.firstError ?? (reply.isError ? "\(reply)" : "unexpected EXEC reply \(reply)"))
        }
        for (index, what) in batch.checks where results[index] == .bulk(nil) || results[index].isError {
            return .lostData("\(what) found no key: \(results[index])")
        }
        if let bad = results.first(where: \.isError) { return .refused("a command in a batch failed: \(bad)") }
        return .applied(lsn: batch.lastLSN, completesRebuild: batch.completesRebuild)
    }
}

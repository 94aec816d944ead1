import PaymentsFollow
import PaymentsRedis
import Testing

/// `MirrorInFlight`: two batches in Redis at once, each settled only by its own `EXEC` reply.
@Suite struct MirrorInFlightTests {
    func batch(commands: Int, lsn: UInt64) -> MirrorInFlight.Batch {
        MirrorInFlight.Batch(commands: commands, checks: [(commands - 1, "SET payments:lsn")], lastLSN: lsn, completesRebuild: false)
    }

    /// `MULTI`'s `+OK` and one `+QUEUED` per command: none of them settles anything.
    func queue(_ commands: Int, into inFlight: inout MirrorInFlight) {
        #expect(inFlight.take(.simple("OK")) == nil)
        for _ in 0..<commands { #expect(inFlight.take(.simple("QUEUED")) == nil) }
    }

    @Test func eachBatchIsAppliedByItsOwnExecOnlyAndInOrder() {
        var inFlight = MirrorInFlight()
        inFlight.sent(batch(commands: 3, lsn: 10))
        inFlight.sent(batch(commands: 2, lsn: 25))
        #expect(inFlight.isFull && inFlight.count == 2)
        queue(3, into: &inFlight)
        let first = inFlight.take(.array([.integer(1), .integer(0), .simple("OK")]))
        #expect(first?.verdict == .applied(lsn: 10, completesRebuild: false))
        #expect(inFlight.count == 1)
        // The connection drops after the second batch's commands were queued, before its
        // EXEC was answered: it is still in flight (not applied), and Redis, which discards a
        // MULTI left without EXEC, still says 10 (EndToEndTests checks that half).
        queue(2, into: &inFlight)
        #expect(inFlight.count == 1)
        let second = inFlight.take(.array([.integer(1), .simple("OK")]))
        #expect(second?.verdict == .applied(lsn: 25, completesRebuild: false))
        #expect(inFlight.isEmpty)
    }

    @Test func aLostKeyAnEmptyExecAndAQueueingErrorAreNotApplied() {
        var inFlight = MirrorInFlight()
        inFlight.sent(batch(commands: 2, lsn: 7))
        inFlight.sent(batch(commands: 2, lsn: 9))
        queue(2, into: &inFlight)
        #expect(inFlight.take(.array([.integer(1), .simple("OK")]))?.verdict == .applied(lsn: 7, completesRebuild: false))
        queue(2, into: &inFlight)
        // SET payments:lsn 9 XX found no key: Redis lost its data under the second batch.
        guard case .lostData? = inFlight.take(.array([.integer(1), .bulk(nil)]))?.verdict else {
            Issue.record("a nil SET ... XX must mean lost data"); return
        }
        inFlight.sent(batch(commands: 1, lsn: 11))
        #expect(inFlight.take(.simple("OK")) == nil)
        #expect(inFlight.take(.error("OOM command not allowed")) == nil)
        #expect(inFlight.take(.error("EXECABORT Transaction discarded"))?.verdict == .refused("OOM command not allowed"))
        inFlight.sent(batch(commands: 1, lsn: 12))
        queue(1, into: &inFlight)
        guard case .refused? = inFlight.take(.array(nil))?.verdict else { Issue.record("a nil EXEC must be refused"); return }
    }
}

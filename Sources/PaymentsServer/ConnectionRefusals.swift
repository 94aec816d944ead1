import PaymentsPlatform

/// Refusals at the connection limit, told to the operator without flooding the log: the
/// first one at once, then at most one line per interval with how many more there were. A
/// storm of 64k connections is a handful of lines, and a lone refusal is never lost.
final class ConnectionRefusals {
    /// At most one line per this long (10 s).
    static let intervalNanoseconds: UInt64 = 10_000_000_000

    /// Refused since the last line.
    private var unlogged: UInt64 = 0
    /// A line went out less than an interval ago; the timer says when the interval ends.
    private var windowOpen = false
    private var timer: TimerFD?
    /// When no timer can be made (out of descriptors, likely at the limit): the last line's time.
    private var lastLineNanoseconds: UInt64?

    /// Counts one refusal on `listener`; logs it at once unless a line went out within the interval.
    func refused(on listener: Listener, by loop: EventLoop) {
        if windowOpen {
            unlogged += 1
            if timer == nil { logWithoutTimer(loop) }
            return
        }
        windowOpen = true
        let reserve = loop.configuration.reservedUnixConnections
        loop.log(
            .warning,
            "connection limit reached: refused a connection on \(listener.displayName) with \(loop.connectionCount) open "
                + "(limit \(loop.configuration.maxConnections)\(reserve > 0 ? ", \(reserve) more on Unix sockets" : "")); "
                + "further refusals are counted and logged at most every \(Self.intervalNanoseconds / 1_000_000_000) s")
        lastLineNanoseconds = MonotonicClock.nanoseconds()
        armTimer(loop)
    }

    /// The interval ended: one line with the count if there were refusals (and another
    /// interval), else the next refusal is logged at once.
    private func intervalEnded(_ loop: EventLoop) {
        guard unlogged > 0 else {
            windowOpen = false
            try? timer?.disarm()
            return
        }
        logSummary(loop)
    }

    private func logSummary(_ loop: EventLoop) {
        loop.log(
            .warning,
            "connection limit: refused \(unlogged) more connection(s) in the last "
                + "\(Self.intervalNanoseconds / 1_000_000_000) s (\(loop.rejectedConnectionCount) since start, "
                + "\(loop.connectionCount) open)")
        unlogged = 0
        lastLineNanoseconds = MonotonicClock.nanoseconds()
    }

    private func armTimer(_ loop: EventLoop) {
        do throws(SystemError) {
            if timer == nil {
                let made = try TimerFD()
                do throws(SystemError) {
                    try loop.watch(made.descriptor) { [unowned self, unowned loop] _ in
                        _ = try? self.timer?.drain()
                        self.intervalEnded(loop)
                    }
                } catch {
                    try? made.close()
                    throw error
                }
                timer = made
            }
            try timer?.arm(initialNanoseconds: Self.intervalNanoseconds, intervalNanoseconds: Self.intervalNanoseconds)
        } catch {
            // Counted all the same; lines then go out on later refusals, an interval apart.
            loop.log(.debug, "connection refusals: no timer (\(error)); logging them as they come, an interval apart")
        }
    }

    private func logWithoutTimer(_ loop: EventLoop) {
        let now = MonotonicClock.nanoseconds()
        guard let last = lastLineNanoseconds, now - last >= Self.intervalNanoseconds else { return }
        logSummary(loop)
    }
}

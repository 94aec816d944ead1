import PaymentsPlatform

/// `paymentsctl --latency`, like `redis-cli --latency`: `PING` after `PING` on one connection,
/// each round trip timed, until Ctrl-C (SIGINT or SIGTERM) or `-r N` samples; then
/// `min: 0.041 ms, avg: 0.062 ms, max: 0.310 ms (500 samples)`. On a terminal that line is
/// redrawn as samples come (at most every 100 ms); elsewhere it is printed once, at the end.
final class LatencyCommand {
    /// The pause between samples without `-i` (`redis-cli`'s sample rate).
    static let defaultIntervalMilliseconds: UInt64 = 10
    /// How often the line on a terminal is redrawn at most (the first sample always is).
    static let redrawIntervalMilliseconds: UInt64 = 100

    private let targets: [SocketAddress]
    private let samplesWanted: Int?
    private let intervalMilliseconds: UInt64
    private let live = FileDescriptor.standardOutput.isTerminal
    private var count = 0
    private var lastDraw: UInt64?
    private var totalNanoseconds: UInt64 = 0, minNanoseconds = UInt64.max, maxNanoseconds: UInt64 = 0

    init(_ invocation: Invocation) {
        targets = invocation.targets
        samplesWanted = invocation.repeatCount.flatMap { $0 < 0 ? nil : $0 }
        intervalMilliseconds = invocation.intervalMilliseconds ?? Self.defaultIntervalMilliseconds
    }

    func run() -> Int32 {
        // Taken as events, so that Ctrl-C ends the sampling with the summary.
        let signals: SignalFD
        do throws(SystemError) { signals = try SignalFD() } catch { fail("\(error)") }
        let connection = DaemonRouting.firstReachable(targets)
        while samplesWanted.map({ count < $0 }) ?? true {
            if count > 0 && interrupted(signals, waitingMilliseconds: intervalMilliseconds) { break }
            guard let nanoseconds = roundTrip(connection, signals) else { break }
            record(nanoseconds)
        }
        return finish()
    }

    /// One `PING`; the round trip in nanoseconds, or nil when a signal came first.
    private func roundTrip(_ connection: DaemonConnection, _ signals: SignalFD) -> UInt64? {
        let start = MonotonicClock.nanoseconds()
        var sendError: SystemError?
        do throws(SystemError) { try connection.send("PING") } catch { sendError = error }
        var signalled = false
        let result = connection.readReply(.pong, next: {
            while true {
                if let line = connection.takeLine() { return line }
                if connection.reachedEnd || connection.isOverlong() { return nil }
                if connection.hasBufferedInput { connection.fill(); continue }
                var entries = [PollEntry(connection.fd, read: true, write: false), PollEntry(signals.descriptor, read: true, write: false)]
                do throws(SystemError) { try Poll.wait(&entries) } catch { fail("\(error)") }
                if entries[1].isReadable { signalled = true; return nil }
                if entries[0].isReadable || entries[0].isBroken { connection.fill() }
            }
        }, line: { _ in })
        if signalled { return nil }
        switch result {
        case .success(.done): return MonotonicClock.nanoseconds() - start
        case .success(.error(let text)): fail("PING: \(text.dropFirst(4))")
        case .failure(.closed(partly: false)) where sendError != nil:
            fail("cannot send to \(connection.target): \(sendError!.message)")
        case .failure(let failure): fail(failure.message(connection.target))
        }
    }

    /// Waits between samples; true when SIGINT or SIGTERM came meanwhile.
    private func interrupted(_ signals: SignalFD, waitingMilliseconds: UInt64) -> Bool {
        var entries = [PollEntry(signals.descriptor, read: true, write: false)]
        do throws(SystemError) {
            try Poll.wait(&entries, timeoutMilliseconds: Int32(clamping: waitingMilliseconds))
        } catch { fail("\(error)") }
        return entries[0].isReadable
    }

    private func record(_ nanoseconds: UInt64) {
        count += 1
        totalNanoseconds += nanoseconds
        minNanoseconds = min(minNanoseconds, nanoseconds)
        maxNanoseconds = max(maxNanoseconds, nanoseconds)
        guard live else { return }
        let now = MonotonicClock.milliseconds()
        if let lastDraw, now - lastDraw < Self.redrawIntervalMilliseconds { return }
        lastDraw = now
        draw(newline: false)
    }

    private func finish() -> Int32 {
        guard count > 0 else {
            if live { standardOutput.write("\r\u{1B}[K") }
            fail("no round trip completed")
        }
        draw(newline: true)
        return ExitStatus.success
    }

    private func draw(newline: Bool) {
        if live { standardOutput.write("\r\u{1B}[K") }
        let average = totalNanoseconds / UInt64(count)
        standardOutput.write("min: \(Self.milliseconds(minNanoseconds)) ms, avg: \(Self.milliseconds(average)) ms, "
            + "max: \(Self.milliseconds(maxNanoseconds)) ms (\(count) samples)" + (newline ? "\n" : ""))
        standardOutput.flush()
    }

    /// `0.062`: milliseconds with three decimals, from whole nanoseconds (no floating point).
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let microseconds = nanoseconds / 1_000
        let fraction = String(microseconds % 1_000)
        return "\(microseconds / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

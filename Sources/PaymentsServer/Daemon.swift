import PaymentsJournal
import PaymentsPlatform

/// `paymentsd` from start to exit: recover, listen, tell systemd, serve until SIGTERM/SIGINT,
/// then answer what was received, sync, snapshot and exit.
public final class Daemon {
    let configuration: DaemonConfiguration
    let log: Logger
    var notifier = SystemdNotifier.disabled
    var timers: [TimerFD] = []
    /// The last `STATUS=` sent, so the periodic tick sends it again only when it changed.
    var lastStatus = ""

    public init(configuration: DaemonConfiguration) {
        self.configuration = configuration
        log = Logger(threshold: configuration.logLevel)
    }

    /// Runs the daemon; returns the process exit status (0 after a clean stop).
    public func run() -> Int32 {
        do {
            try serve()
            return 0
        } catch {
            log.error("\(error)")
            try? notifier.status("failed: \(error)")
            return 1
        }
    }

    func serve() throws(DaemonError) {
        Signals.ignoreBrokenPipe()
        // Blocked here, before the journal starts its thread, so every thread inherits the mask
        // and the signals arrive only through the descriptor.
        let signals = try system { () throws(SystemError) in try SignalFD() }
        do { notifier = try SystemdNotifier.fromEnvironment() } catch { throw .startup("NOTIFY_SOCKET: \(error)") }
        let passed: [SystemdListenFDs.PassedSocket]
        do { passed = try SystemdListenFDs.take() } catch { throw .startup("\(error)") }
        let directory = configuration.dataDirectory ?? Environment.get("STATE_DIRECTORY") ?? DaemonConfiguration.defaultDataDirectory
        try? notifier.status("recovering \(directory)")
        log.info("starting: data directory \(directory), fsync \(configuration.fsync.rawValue)")
        var journalOptions = JournalOptions(directory: directory)
        journalOptions.segmentBytes = configuration.segmentBytes
        journalOptions.snapshotAfterBytes = configuration.snapshotAfterBytes
        let durable = try DurableEngine(directory: directory, policy: configuration.fsync, journalOptions: journalOptions, log: log)
        let loop = try system { () throws(SystemError) in
            try EventLoop(configuration: .init(maxConnections: configuration.maxConnections))
        }
        loop.log = { [log] level, message in log.log(level, message) }
        let service = DaemonService(durable: durable, loop: loop, log: log)
        let listeners = Listeners(configuration: configuration, service: service, log: log)
        try listeners.open(on: loop, passed: passed)
        try system { () throws(SystemError) in
            try loop.watch(durable.committer.wakeDescriptor) { _ in service.committerWoke() }
            try loop.watch(durable.snapshotDone.descriptor) { _ in service.snapshotWoke() }
            try loop.watch(signals.descriptor) { [log, notifier] _ in
                let taken = (try? signals.take()) ?? []
                guard !taken.isEmpty, !loop.isStopping else { return }
                log.info("\(taken.map(Signals.name).joined(separator: ", ")): stopping; answering what was received")
                try? notifier.stopping(status: "stopping: answering what was received")
                loop.stop()
            }
            try watchSystemd(loop, service)
        }
        loop.beforeWait = { service.beforeWait() }
        // Recovery is done and every listener is open: only now may systemd send us traffic.
        lastStatus = serving(service)
        do { try notifier.ready(status: lastStatus) } catch { log.warning("cannot tell systemd we are ready: \(error)") }
        log.info("ready: \(durable.engine.ledger.accountCount) accounts, journal at record \(durable.lastLSN)")
        try system { () throws(SystemError) in try loop.run() }
        if let failure = service.failure { throw .journal(failure) }
        try? notifier.status("stopping: syncing and writing a snapshot")
        do { try durable.close(snapshot: true) } catch { throw .journal(error) }
        log.info("stopped cleanly at record \(durable.lastLSN)")
    }

    /// The watchdog ping comes from the loop itself, so a stuck loop stops the pings and
    /// systemd restarts the daemon; the status line is refreshed on the same tick, in the same
    /// datagram and only when it changed. The tick never blocks the loop on a busy systemd.
    func watchSystemd(_ loop: EventLoop, _ service: DaemonService) throws(SystemError) {
        guard notifier.isEnabled else { return }
        let watchdog = SystemdWatchdog.fromEnvironment()
        let interval = watchdog?.pingIntervalNanoseconds ?? Self.statusIntervalNanoseconds
        let timer = try TimerFD()
        try timer.arm(initialNanoseconds: interval, intervalNanoseconds: interval)
        timers.append(timer)
        try loop.watch(timer.descriptor) { [notifier, log] _ in
            _ = try? timer.drain()
            var state: [String] = watchdog != nil ? ["WATCHDOG=1"] : []
            let status = loop.isStopping ? "stopping: answering what was received" : self.serving(service)
            if status != self.lastStatus { state.append(SystemdNotifier.statusAssignment(status)) }
            guard !state.isEmpty else { return }
            do {
                try notifier.notify(state.joined(separator: "\n"), waiting: false)
                self.lastStatus = status
            } catch {
                log.debug("systemd notify: \(error)")
            }
        }
    }

    /// How often the status line is refreshed when there is no watchdog to ping.
    static let statusIntervalNanoseconds: UInt64 = 5_000_000_000

    func serving(_ service: DaemonService) -> String {
        let e = service.durable.engine
        return "serving: \(e.ledger.accountCount) accounts, \(e.applied) applied, \(e.rejected) rejected, "
            + "\(service.loop.connectionCount) connections"
    }
}

/// Runs a platform call and reports its failure as the daemon's.
func system<T>(_ body: () throws(SystemError) -> T) throws(DaemonError) -> T {
    do { return try body() } catch { throw .system(error) }
}

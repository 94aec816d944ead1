import Glibc
import PaymentsJournal
import PaymentsPlatform
import PaymentsReplication
import PaymentsTLS

/// `paymentsd` from start to exit: recover, listen, tell systemd, serve until SIGTERM/SIGINT,
/// then answer what was received, sync, snapshot and exit.
public final class Daemon {
    let configuration: DaemonConfiguration
    let log: Logger
    var notifier = SystemdNotifier.disabled
    var timers: [TimerFD] = []
    /// The last `STATUS=` sent, so the periodic tick sends it again only when it changed.
    var lastStatus = ""
    /// SIGTERM or SIGINT arrived while the start waited for PostgreSQL: a requested stop, exit 0.
    var stoppedBeforeStart = false

    public init(configuration: DaemonConfiguration) {
        self.configuration = configuration
        log = Logger(threshold: configuration.logLevel)
    }

    /// Runs the daemon; returns the process exit status (0 after a clean stop).
    public func run() -> Int32 {
        do {
            try serve()
            return 0
        } catch where stoppedBeforeStart {
            log.info("stopped while waiting for PostgreSQL: \(error)")
            return 0
        } catch .configuration(let message) {
            log.error(message)
            try? notifier.status("failed: \(message)")
            return 2
        } catch .journal(let error) where error.needsOperator {
            log.error("\(error)")
            try? notifier.status("failed: \(error)")
            return 2
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
        let signals = try system { () throws(SystemError) in try SignalFD(signals: [SIGTERM, SIGINT, SIGHUP]) }
        do { notifier = try SystemdNotifier.fromEnvironment() } catch { throw .startup("NOTIFY_SOCKET: \(error)") }
        let passed: [SystemdListenFDs.PassedSocket]
        do { passed = try SystemdListenFDs.take() } catch { throw .startup("\(error)") }
        let directory = configuration.dataDirectory ?? Environment.get("STATE_DIRECTORY") ?? DaemonConfiguration.defaultDataDirectory
        try? notifier.status("recovering \(directory)")
        let durable: DurableEngine
        if let uri = configuration.journalURI {
            durable = try openReplicated(uri, directory: directory, signals: signals)
        } else {
            durable = try openLocal(directory)
        }
        let loop = try system { () throws(SystemError) in
            try EventLoop(configuration: .init(
                maxConnections: configuration.maxConnections, reservedUnixConnections: DaemonConfiguration.reservedUnixConnections))
        }
        // Closes the listeners on every way out: a start that fails (a port taken) removes the
        // socket files it created. After a clean run they are closed already.
        defer { loop.stop() }
        loop.log = { [log] level, message in log.log(level, message) }
        let service = DaemonService(durable: durable, loop: loop, log: log)
        service.refreshRole()
        service.checkSpaceAtStart()
        if let path = configuration.authFile {
            do throws(AuthFile.LoadError) { service.tokens = Tokens(try AuthFile.load(path)) } catch {
                throw .configuration(error.description)
            }
            log.info("auth file \(path): \(service.tokens!.file.entries.count) token(s)")
        }
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            do throws(TLSError) {
                service.tls = try ServerTLS(
                    certificate: certificate, key: key, clientCA: configuration.tlsClientCA,
                    handshakeTimeoutMilliseconds: UInt64(configuration.tlsHandshakeTimeoutSeconds) * 1000)
            } catch {
                throw .configuration("\(error)")
            }
        }
        let listeners = Listeners(configuration: configuration, service: service, log: log)
        try listeners.open(on: loop, passed: passed)
        listeners.describeSecurity(loop)
        try warnHourly(about: listeners.insecureRemoteListeners(loop), listeners, loop)
        try system { () throws(SystemError) in
            try loop.watch(durable.committer.wakeDescriptor) { _ in service.committerWoke() }
            try loop.watch(durable.snapshotDone.descriptor) { _ in service.snapshotWoke() }
            try loop.watch(signals.descriptor) { [log, notifier, configuration] _ in
                var taken = (try? signals.take()) ?? []
                if taken.contains(SIGHUP) {
                    service.reload(configuration)
                    taken.removeAll { $0 == SIGHUP }
                }
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

    /// The local journal: segment files and snapshots in `directory`, synced by a group committer.
    func openLocal(_ directory: String) throws(DaemonError) -> DurableEngine {
        log.info("starting: data directory \(directory), fsync \(configuration.fsync.rawValue)")
        do {
            try FileSystem.makeDirectory(directory, mode: 0o700)
        } catch {
            throw .startup("cannot create data directory: \(error)")
        }
        var options = JournalOptions(directory: directory)
        options.segmentBytes = configuration.segmentBytes
        options.snapshotAfterBytes = configuration.snapshotAfterBytes
        let journal: Journal
        do { journal = try Journal.open(options) } catch { throw .journal(error) }
        for warning in journal.recovery.warnings { log.warning(warning) }
        let committer: GroupCommitter
        do { committer = try GroupCommitter(journal: journal, policy: configuration.fsync) } catch { throw .journal(error) }
        return try DurableEngine(store: journal, committer: committer, policy: configuration.fsync, log: log)
    }

    /// The journal in PostgreSQL (§8): the daemon starts as a standby of the ledger and claims
    /// it when nobody holds the lease. Every reply waits for its `COMMIT`.
    func openReplicated(_ uri: String, directory: String, signals: SignalFD) throws(DaemonError) -> DurableEngine {
        let node = configuration.nodeName ?? "\(Environment.hostName):\(Environment.processID)"
        var options = PostgresJournalOptions(conninfo: uri, ledger: configuration.ledger, node: node, directory: directory)
        options.leaseMilliseconds = configuration.leaseMilliseconds
        options.pollMilliseconds = configuration.pollMilliseconds
        options.snapshotAfterBytes = configuration.snapshotAfterBytes
        log.info("starting: ledger \(configuration.ledger) in PostgreSQL as node \(node), lease \(configuration.leaseMilliseconds) ms")
        let log = self.log
        let store: PostgresJournal
        do {
            store = try PostgresJournal.open(
                options,
                log: { level, message in
                    log.log(level == .info ? .info : level == .warning ? .warning : .error, message)
                },
                shouldStop: { [self] in
                    stoppedBeforeStart = !((try? signals.take()) ?? []).isEmpty
                    return stoppedBeforeStart
                })
        } catch {
            throw .journal(error)
        }
        let durable = try DurableEngine(store: store, committer: store, replica: store, policy: .always, log: log)
        do { try store.start() } catch { throw .journal(error) }
        return durable
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

    /// §9: an `--insecure` remote listener is not something an operator forgets about.
    func warnHourly(about insecure: [String], _ listeners: Listeners, _ loop: EventLoop) throws(DaemonError) {
        guard !insecure.isEmpty else { return }
        try system { () throws(SystemError) in
            let timer = try TimerFD()
            try timer.arm(initialNanoseconds: Self.insecureWarningNanoseconds, intervalNanoseconds: Self.insecureWarningNanoseconds)
            timers.append(timer)
            try loop.watch(timer.descriptor) { [log] _ in
                _ = try? timer.drain()
                for name in insecure { log.warning(listeners.insecureWarning(name)) }
            }
        }
    }

    static let insecureWarningNanoseconds: UInt64 = 3600 * 1_000_000_000

    /// How often the status line is refreshed when there is no watchdog to ping.
    static let statusIntervalNanoseconds: UInt64 = 5_000_000_000

    func serving(_ service: DaemonService) -> String {
        let e = service.durable.engine
        let role = service.durable.replica.map { status in
            let s = status.replicaStatus
            return "\(s.role.rawValue) of ledger at epoch \(s.epoch), record \(s.appliedLSN)\(s.role == .standby ? ", leader \(s.leader.isEmpty ? "unknown" : s.leader)" : ""); "
        } ?? ""
        if !service.journalAvailable { return "read-only: journal unavailable, \(DaemonService.noSpaceReason); queries answered, writes refused" }
        return "serving: \(role)\(e.ledger.accountCount) accounts, \(e.applied) applied, \(e.rejected) rejected, "
            + "\(service.loop.connectionCount) connections"
    }
}

/// Runs a platform call and reports its failure as the daemon's.
func system<T>(_ body: () throws(SystemError) -> T) throws(DaemonError) -> T {
    do { return try body() } catch { throw .system(error) }
}

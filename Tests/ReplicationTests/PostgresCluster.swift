import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPostgres
import Synchronization

// A real PostgreSQL server for tests: a private cluster under /tmp, started with the distribution's
// binaries (PostgreSQL 15 on Debian), torn down when the value goes away or the test process
// exits. Every wait has a time limit, so a broken server fails a test instead of hanging it.
//
//     let primary = try PostgresCluster.primary()            // own server: kill, stop, promote freely
//     let standby = try primary.addSynchronousStandby()      // every commit now waits for it
//     let connection = try PostgresConnection.connect(primary.uri)
//
// Or `try PostgresCluster.shared()` for one process-wide server that no test may stop.
// Every name lives inside `PostgresCluster` so it cannot clash with other test helpers.

/// One PostgreSQL server (postmaster) on its own data directory, port and Unix socket directory.
final class PostgresCluster: @unchecked Sendable {
    /// The login the daemon under test uses: password-checked (SCRAM) over TCP, owner of
    /// `database`. Everything else (the superuser `postgres`, other roles) is trusted.
    static let user = "payments"
    static let password = "secret"
    static let database = "payments"
    /// How long a start, stop, promotion or a standby's catch-up may take (a busy CI machine).
    static let timeoutSeconds = 60.0

    /// The scratch directory: holds `data/`, the log and the Unix socket.
    let directory: String
    private(set) var port: Int
    private(set) var isStandby: Bool

    var dataDirectory: String { directory + "/data" }
    var logPath: String { directory + "/log" }
    /// `cluster_name`, which a standby also sends as its `application_name`.
    var name: String { "pgc_\(port)" }

    /// The daemon's login over TCP (password checked).
    var uri: String { "postgresql://\(Self.user):\(Self.password)@127.0.0.1:\(port)/\(Self.database)" }
    /// The superuser over the Unix socket (trusted).
    var superuserConninfo: String { "host=\(directory) port=\(port) user=postgres dbname=postgres" }

    /// A libpq URI listing several servers, e.g. a primary and its standby, as a daemon gets it.
    static func uri(of clusters: [PostgresCluster], targetSessionAttrs: String = "read-write") -> String {
        let hosts = clusters.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        return "postgresql://\(user):\(password)@\(hosts)/\(database)?target_session_attrs=\(targetSessionAttrs)"
    }

    /// The postmaster's pid (first line of `postmaster.pid`), while it runs or after a kill.
    var pid: Int32? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return nil }
        return Int32(line.trimmingCharacters(in: .whitespaces))
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    private init(directory: String, port: Int, isStandby: Bool) {
        self.directory = directory
        self.port = port
        self.isStandby = isStandby
        Registry.add(directory)
    }

    deinit {
        Registry.stopNow(directory, immediate: true)
        Registry.remove(directory)
    }

    // MARK: - Creating servers

    /// A new primary: `initdb`, the role and database `payments`, started and ready.
    static func primary() throws -> PostgresCluster {
        let cluster = PostgresCluster(directory: try Tool.makeScratchDirectory(), port: 0, isStandby: false)
        try Tool.run("initdb", ["-D", cluster.dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                "--locale=C", "--no-sync"])
        try cluster.writeAccessRules()
        try cluster.appendSettings([
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = '\(cluster.directory)'",
            "wal_level = replica", "max_wal_senders = 5", "fsync = on", "synchronous_commit = on",
            "shared_buffers = 16MB", "max_connections = 50",
        ])
        try cluster.startOnFreePort()
        try cluster.psql("CREATE ROLE \(user) LOGIN PASSWORD '\(password)'")
        try cluster.psql("CREATE DATABASE \(database) OWNER \(user)")
        return cluster
    }

    /// One primary for the whole test process, for tests that neither stop it nor change its
    /// settings (use their own tables, or temporary ones).
    static func shared() throws -> PostgresCluster { try sharedPrimary.get() }
    private static let sharedPrimary = Result { try PostgresCluster.primary() }

    /// A standby streaming from this primary (`pg_basebackup -R`), started, caught up, and made
    /// synchronous: once this returns, every commit on the primary waits until the standby has
    /// it (`synchronous_standby_names = '*'`, set only now: set earlier, commits would wait for a
    /// standby that does not exist yet).
    func addSynchronousStandby() throws -> PostgresCluster {
        let standby = PostgresCluster(directory: try Tool.makeScratchDirectory(), port: 0, isStandby: true)
        try Tool.run("pg_basebackup", ["-h", directory, "-p", "\(port)", "-U", "postgres", "-D", standby.dataDirectory,
                                       "-R", "-X", "stream", "-c", "fast", "--no-sync"])
        // A copy of a primary that already has synchronous standbys would, once promoted, wait
        // for standbys of its own that do not exist.
        let autoConf = standby.dataDirectory + "/postgresql.auto.conf"
        let kept = try String(contentsOfFile: autoConf, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("synchronous_standby_names") }
        try (kept.joined(separator: "\n") + "\n").write(toFile: autoConf, atomically: false, encoding: .utf8)
        try standby.appendSettings(["unix_socket_directories = '\(standby.directory)'"])
        try standby.startOnFreePort()
        try waitFor("standby \(standby.name) streaming") {
            try psql("SELECT 1 FROM pg_stat_replication WHERE application_name = '\(standby.name)' AND state = 'streaming'")
                .rowCount == 1
        }
        try psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        try psql("SELECT pg_reload_conf()")
        try waitFor("standby \(standby.name) synchronous") {
            try psql("SELECT 1 FROM pg_stat_replication WHERE application_name = '\(standby.name)' AND sync_state IN ('sync', 'quorum')")
                .rowCount == 1
        }
        return standby
    }

    // MARK: - Running, crashing, stopping

    /// Starts the server (again) on its port; returns once it accepts connections.
    func start() throws {
        do {
            try Tool.run("pg_ctl", ["-D", dataDirectory, "-l", logPath, "-w", "-t", "\(Int(Self.timeoutSeconds))", "start"],
                         timeoutSeconds: Self.timeoutSeconds + 10)
        } catch {
            throw Failure("\(error)\nserver log:\n\(log.suffix(4000))")
        }
    }

    /// SIGKILL to the postmaster and every backend, like a machine that loses power: clients
    /// see their connections reset, with no goodbye message. Returns once they are gone.
    func kill() {
        guard let pid, Registry.isPostmaster(pid, of: dataDirectory) else { return }
        Registry.killServer(pid)
    }

    /// A fast shutdown (`pg_ctl stop -m fast`: sessions are ended, nothing is lost), falling back
    /// to SIGKILL when it takes longer than the time limit.
    func stop() {
        Registry.stopNow(directory, immediate: false)
    }

    /// Promotes this standby to a primary (`pg_ctl promote -w`); returns once it takes writes.
    func promote() throws {
        try Tool.run("pg_ctl", ["-D", dataDirectory, "-w", "-t", "\(Int(Self.timeoutSeconds))", "promote"],
                     timeoutSeconds: Self.timeoutSeconds + 10)
        isStandby = false
    }

    /// One statement as the superuser, on a connection of its own.
    @discardableResult
    func psql(_ sql: String, _ parameters: [PostgresValue] = []) throws -> PostgresResult {
        let connection = try PostgresConnection.connect(superuserConninfo)
        defer { connection.close() }
        return try connection.execute(sql, parameters)
    }

    /// Polls `condition` every 20 ms until it holds; an error counts as "not yet".
    func waitFor(_ what: String, timeoutSeconds: Double = PostgresCluster.timeoutSeconds, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var lastError: (any Error)?
        while Date() < deadline {
            do {
                if try condition() { return }
            } catch { lastError = error }
            usleep(20_000)
        }
        throw Failure("timed out after \(Int(timeoutSeconds)) s waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
    }

    // MARK: - Configuration

    /// `pg_hba.conf`: the `payments` login needs its password over TCP (so that a wrong one can be
    /// tested); everything else is trusted, replication included.
    private func writeAccessRules() throws {
        let rules = """
            local all all trust
            local replication all trust
            host all \(Self.user) 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust
            host replication all 127.0.0.1/32 trust

            """
        try rules.write(toFile: dataDirectory + "/pg_hba.conf", atomically: false, encoding: .utf8)
    }

    /// Appends to `postgresql.conf` (a later line wins over an earlier one).
    private func appendSettings(_ lines: [String]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n" + lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Picks a free loopback port and starts there; another process may take the port between
    /// the pick and the start, so a failed start is retried on a new port.
    private func startOnFreePort() throws {
        var lastError: (any Error)?
        for _ in 0..<3 {
            port = try Tool.freeLoopbackPort()
            try appendSettings(["port = \(port)", "cluster_name = '\(name)'"])
            do {
                try start()
                return
            } catch {
                lastError = error
                guard log.contains("could not bind") || log.contains("already in use") else { throw error }
            }
        }
        throw lastError!
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

// MARK: - Processes

extension PostgresCluster {
    /// Running PostgreSQL's programs: as the `postgres` user when we are root (the server refuses
    /// root), with a time limit, output kept for the error message.
    enum Tool {
        /// The newest `/usr/lib/postgresql/N/bin`, or `$PG_BIN`.
        static let binDirectory: String = {
            if let explicit = ProcessInfo.processInfo.environment["PG_BIN"] { return explicit }
            let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
            let newest = versions.compactMap(Int.init).max() ?? 15
            return "/usr/lib/postgresql/\(newest)/bin"
        }()

        static var isRoot: Bool { getuid() == 0 }

        /// Runs `tool` from `binDirectory`; throws with its output when it fails or overruns.
        ///
        /// Not with Foundation's `Process`: it sees its child end only when every descendant has
        /// closed a descriptor the child inherited, and `pg_ctl start` leaves a postmaster behind
        /// that keeps it, so `Process` would wait as long as the server runs. Here the child gets
        /// descriptors 0, 1 and 2 only (`closefrom(3)`), and we wait for the child itself.
        static func run(_ tool: String, _ arguments: [String], timeoutSeconds: Double = PostgresCluster.timeoutSeconds) throws {
            let outputPath = try makeScratchFile()
            defer { unlink(outputPath) }
            let program = binDirectory + "/" + tool
            let argv = (isRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] : [program]) + arguments
            let pid = try spawn(argv, outputPath: outputPath)
            let deadline = Date().addingTimeInterval(timeoutSeconds)
            var status: Int32 = 0
            while true {
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid { break }
                guard reaped == 0 || errno == EINTR else { throw Failure("waitpid \(tool): \(String(cString: strerror(errno)))") }
                if Date() > deadline {
                    Glibc.kill(pid, SIGKILL)
                    _ = waitpid(pid, &status, 0)
                    throw Failure("\(tool) did not finish within \(Int(timeoutSeconds)) s: \(text(outputPath))")
                }
                usleep(2_000)
            }
            // WIFEXITED / WEXITSTATUS, which are macros Swift does not import.
            let exited = status & 0x7f == 0
            guard exited && (status >> 8) & 0xff == 0 else {
                let how = exited ? "exited with \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
                throw Failure("\(tool) \(arguments.joined(separator: " ")) \(how): \(text(outputPath))")
            }
        }

        /// `posix_spawn` of `argv` with standard input from /dev/null, output and errors to
        /// `outputPath`, no other descriptor, default signal handling and an empty signal mask;
        /// in a new session (`setsid`) when `newSession`, so that it survives a kill of ours.
        static func spawn(_ argv: [String], outputPath: String, newSession: Bool = false) throws -> pid_t {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_APPEND, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            closeFrom(3, &actions)
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var noSignals = sigset_t()
            sigemptyset(&noSignals)
            var allSignals = sigset_t()
            sigfillset(&allSignals)
            posix_spawnattr_setsigmask(&attributes, &noSignals)
            posix_spawnattr_setsigdefault(&attributes, &allSignals)
            let session: Int32 = newSession ? 0x80 : 0  // glibc's POSIX_SPAWN_SETSID, not imported
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | session))
            let cArguments = argv.map { strdup($0) } + [nil]
            defer { cArguments.forEach { free($0) } }
            var pid: pid_t = 0
            let failed = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
            guard failed == 0 else { throw Failure("posix_spawn \(argv[0]): \(String(cString: strerror(failed)))") }
            return pid
        }

        /// A new empty directory under /tmp (short: it holds a Unix socket), owned by `postgres`.
        static func makeScratchDirectory() throws -> String {
            var template = Array("/tmp/pgc.XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw Failure("mkdtemp /tmp/pgc.XXXXXX: \(String(cString: strerror(errno)))")
            }
            let path = String(cString: made)
            if isRoot, let account = getpwnam("postgres") {
                guard chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                    throw Failure("chown \(path): \(String(cString: strerror(errno)))")
                }
            }
            return path
        }

        private static func makeScratchFile() throws -> String {
            var template = Array("/tmp/pgc-out.XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw Failure("mkstemp: \(String(cString: strerror(errno)))") }
            close(fd)
            return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        private static func text(_ path: String) -> String {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }

        /// A loopback TCP port nobody listens on right now (the kernel's pick for port 0).
        static func freeLoopbackPort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
                }
            }
            guard bound else { throw Failure("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }
}

// MARK: - Cleanup

extension PostgresCluster {
    /// Every cluster directory not yet removed, with its watchdog. Three layers make sure no
    /// server outlives the tests: `deinit`; at a normal exit of the test process (`atexit`) the
    /// servers still registered, such as the shared one (a static is never deinitialised); and
    /// when the test process dies without exiting (SIGKILL, `timeout`'s SIGTERM), a watchdog
    /// shell started with each cluster, in a session of its own, that stops the server and
    /// removes the directory once the test process is gone.
    enum Registry {
        private static let live = Mutex<[String: pid_t]>([:])
        private static let exitHook: Void = { atexit { Registry.stopAll() } }()

        static func add(_ directory: String) {
            _ = exitHook
            let watchdog = try? startWatchdog(directory)
            live.withLock { $0[directory] = watchdog ?? 0 }
        }

        static func remove(_ directory: String) {
            let watchdog = live.withLock { $0.removeValue(forKey: directory) }
            try? FileManager.default.removeItem(atPath: directory)
            if let watchdog, watchdog > 0 {
                Glibc.kill(watchdog, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(watchdog, &status, 0)
            }
        }

        private static func stopAll() {
            let directories = live.withLock { Array($0.keys) }
            for directory in directories {
                stopNow(directory, immediate: true)
                remove(directory)
            }
        }

        /// `sh -c` polling (every 0.5 s) whether this process still exists; when not, an
        /// immediate stop of the server (which also frees its shared memory) and `rm -rf`.
        private static func startWatchdog(_ directory: String) throws -> pid_t {
            let data = directory + "/data"
            let stop = (Tool.isRoot ? "/usr/sbin/runuser -u postgres -- " : "")
                + "\(Tool.binDirectory)/pg_ctl -D '\(data)' -m immediate -w -t 30 stop"
            let script = """
                while [ -d /proc/\(getpid()) ]; do sleep 0.5; done
                if [ -f '\(data)/postmaster.pid' ]; then \(stop) || kill -9 "$(head -n 1 '\(data)/postmaster.pid')"; fi
                rm -rf '\(directory)'
                """
            return try Tool.spawn(["/bin/sh", "-c", script], outputPath: "/dev/null", newSession: true)
        }

        /// Stops the server of `directory` if one runs (`pg_ctl stop`, `-m immediate` at teardown
        /// where nothing needs keeping, `-m fast` otherwise), with SIGKILL if that overruns; then
        /// frees the shared memory segment a killed server leaves behind.
        static func stopNow(_ directory: String, immediate: Bool) {
            let dataDirectory = directory + "/data"
            let pidFile = dataDirectory + "/postmaster.pid"
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard let pid = lines.first.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) }) else { return }
            if isPostmaster(pid, of: dataDirectory) {
                let mode = immediate ? "immediate" : "fast"
                let stopped = (try? Tool.run("pg_ctl", ["-D", dataDirectory, "-m", mode, "-w", "-t", "30", "stop"],
                                             timeoutSeconds: 35)) != nil
                if !stopped { killServer(pid) }
            }
            // A killed postmaster leaves its System V segment (key and id on line 7) behind.
            if lines.count > 6 {
                let fields = lines[6].split(separator: " ")
                if fields.count == 2, let id = Int32(fields[1]) {
                    var status = shmid_ds()
                    if shmctl(id, IPC_STAT, &status) == 0, status.shm_nattch == 0 { shmctl(id, IPC_RMID, nil) }
                }
            }
        }

        /// SIGKILL to the postmaster and to every process it started (each backend is a process
        /// group of its own, so a group kill would miss them); waits (10 s at most) until they are
        /// gone. The postmaster is stopped first so that it forks nothing while its children are
        /// listed.
        static func killServer(_ pid: Int32) {
            Glibc.kill(pid, SIGSTOP)
            let processes = [pid] + children(of: pid)
            for process in processes { Glibc.kill(process, SIGKILL) }
            let deadline = Date().addingTimeInterval(10)
            while processes.contains(where: isRunning) && Date() < deadline { usleep(2_000) }
        }

        /// The processes whose parent is `pid` (field 4 of `/proc/N/stat`).
        private static func children(of pid: Int32) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap(Int32.init).filter { candidate in
                guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 1 && Int32(fields[1]) == pid
            }
        }

        /// `pid` is (still) the postmaster of `dataDirectory`: after a kill its pid may belong
        /// to some other process by now, which must never be signalled.
        static func isPostmaster(_ pid: Int32, of dataDirectory: String) -> Bool {
            guard isRunning(pid), let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else {
                return false
            }
            return String(decoding: command, as: UTF8.self).contains(dataDirectory)
        }

        /// The process exists and is not a zombie (the postmaster is not our child, so nobody
        /// here reaps it).
        static func isRunning(_ pid: Int32) -> Bool {
            guard Glibc.kill(pid, 0) == 0 else { return false }
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let state = stat[stat.index(after: close)...].split(separator: " ").first
            return state != "Z" && state != "X"
        }
    }
}

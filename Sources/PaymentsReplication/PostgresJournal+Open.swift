public import PaymentsJournal
import PaymentsPlatform
import PaymentsPostgres

extension PostgresJournal {
    /// Connects (retrying an unreachable server with backoff, one log line per change of state),
    /// creates or checks the schema, warns when commits would live on one server only, and reads
    /// the newest snapshot. The caller then replays with `read(from: snapshotLSN + 1)`, restores
    /// its state and calls `start()`.
    ///
    /// Throws `.store` with one line when PostgreSQL refuses the login (the daemon exits 2),
    /// when the schema is newer than this build, and `.damaged` naming the ledger and LSN when a
    /// snapshot fails its checksum. `shouldStop` is asked between attempts (a SIGTERM at start).
    public static func open(
        _ options: PostgresJournalOptions, log: @escaping ReplicationLog, shouldStop: () -> Bool
    ) throws(JournalError) -> PostgresJournal {
        let lockFile = try lockDataDirectory(options.directory)
        do {
            let connection = try connectAtStart(options, log: log, shouldStop: shouldStop)
            try ensureSchema(connection)
            warnIfNotReplicated(connection, log: log)
            let reader = LedgerReader(connection: connection, ledger: options.ledger)
            var snapshot: (lsn: UInt64, payload: [UInt8])?
            if let newest = try reader.snapshotHeads().first {
                snapshot = (newest.lsn, try reader.snapshotPayload(newest))
            }
            let last = max(try reader.lastLSN(), snapshot?.lsn ?? 0)
            let oldest = try reader.oldestLSN() ?? last + 1
            log(.info, "PostgreSQL at \(connection.serverAddress): ledger \(options.ledger), snapshot at record "
                + "\(snapshot?.lsn ?? 0), last record \(last)")
            return try PostgresJournal(
                options: options, log: log, connection: connection, lockFile: lockFile, snapshot: snapshot,
                lastLSN: last, oldestLSN: oldest, bytesAfterSnapshot: 0)
        } catch {
            try? lockFile.close()
            throw error
        }
    }

    /// The data directory holds only this lock: two daemons never share one directory.
    static func lockDataDirectory(_ directory: String) throws(JournalError) -> FileDescriptor {
        if !FileSystem.isDirectory(directory) {
            do { try FileSystem.makeDirectory(directory, mode: 0o700) } catch { throw .system(error) }
        }
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(directory + "/LOCK", OpenFlags.readWrite | OpenFlags.create, mode: 0o600)
        } catch {
            throw .system(error)
        }
        let locked: Bool
        do { locked = try fd.tryLockExclusive() } catch { try? fd.close(); throw .system(error) }
        if !locked { try? fd.close(); throw .locked(directory: directory) }
        return fd
    }

    static func connectAtStart(
        _ options: PostgresJournalOptions, log: ReplicationLog, shouldStop: () -> Bool
    ) throws(JournalError) -> PostgresConnection {
        var backoff = Backoff()
        var lastComplaint = ""
        while true {
            do {
                let connection = try PostgresConnection.connect(options.conninfo)
                try? connection.executeScript(LedgerSchema.sessionSettings)
                if !lastComplaint.isEmpty { log(.info, "PostgreSQL reachable again at \(connection.serverAddress)") }
                return connection
            } catch {
                if error.kind == .authentication { throw .refused("PostgreSQL refused the login: \(error.message)") }
                if error.kind == .usage { throw .refused("bad --journal connection string: \(error.message)") }
                if error.message != lastComplaint {
                    log(.warning, "PostgreSQL unreachable, retrying with backoff: \(error.message)")
                    lastComplaint = error.message
                }
            }
            if shouldStop() { throw .store("stopped while waiting for PostgreSQL") }
            backoff.sleep()
        }
    }

    /// Creates schema `payments` on first start (under an advisory lock, in one transaction) and
    /// refuses a database whose format is newer than this build's.
    static func ensureSchema(_ connection: PostgresConnection) throws(JournalError) {
        do {
            if try connection.execute("SELECT current_setting('transaction_read_only')").text(0, 0) == "on" {
                throw PostgresError(kind: .readOnly, message: "read-only")
            }
            let exists = try connection.execute(LedgerSchema.schemaExists).int64(0, 0) ?? 0
            if exists == 0 || (try? connection.execute(LedgerSchema.readFormat)) == nil {
                try connection.executeScript("BEGIN; \(LedgerSchema.lockForCreate); \(LedgerSchema.create) COMMIT;")
            }
            let version = try connection.execute(LedgerSchema.readFormat).int64(0, 0) ?? 0
            guard version <= LedgerSchema.formatVersion else {
                throw JournalError.refused(
                    "schema payments has format version \(version); this paymentsd reads version "
                        + "\(LedgerSchema.formatVersion) and older: upgrade paymentsd")
            }
            if version < LedgerSchema.formatVersion { _ = try connection.execute(LedgerSchema.raiseFormat) }
        } catch let error as JournalError {
            throw error
        } catch let error as PostgresError {
            if error.kind == .readOnly {
                throw .refused("PostgreSQL at \(connection.serverAddress) is read-only: give a primary, or several hosts with target_session_attrs=read-write")
            }
            throw .store("PostgreSQL: cannot create or read schema payments: \(error.message)")
        } catch {
            throw .store("PostgreSQL: \(error)")
        }
    }

    /// An acknowledged transaction should live on two servers: say so when it would not.
    static func warnIfNotReplicated(_ connection: PostgresConnection, log: ReplicationLog) {
        guard let settings = try? connection.execute(LedgerSchema.durabilitySettings) else { return }
        let commit = settings.text(0, 0) ?? "", standbys = settings.text(0, 1) ?? ""
        if standbys.isEmpty || commit == "off" || commit == "local" {
            log(.warning, "PostgreSQL has synchronous_commit=\(commit) and synchronous_standby_names='\(standbys)': "
                + "acknowledged transactions live on one PostgreSQL server only until a synchronous standby is configured")
        }
    }

    /// A connection for the worker or a snapshot: libpq's own multi-host and
    /// `target_session_attrs` rules pick the server.
    func connect() throws(JournalError) -> PostgresConnection { try Self.connect(options) }

    /// A connection with the journal's session settings (the start-up one, snapshots, cursors).
    static func connect(_ options: PostgresJournalOptions) throws(JournalError) -> PostgresConnection {
        do {
            let connection = try PostgresConnection.connect(options.conninfo)
            try? connection.executeScript(LedgerSchema.sessionSettings)
            return connection
        } catch {
            throw .store("PostgreSQL: \(error.message)")
        }
    }
}

/// Doubling waits between reconnection attempts: 100 ms up to 5 s.
struct Backoff {
    var nextMilliseconds: UInt64 = 100
    static let maxMilliseconds: UInt64 = 5000

    mutating func take() -> UInt64 {
        let wait = nextMilliseconds
        nextMilliseconds = min(nextMilliseconds * 2, Self.maxMilliseconds)
        return wait
    }

    mutating func reset() { nextMilliseconds = 100 }

    mutating func sleep() { MonotonicClock.sleep(nanoseconds: take() * 1_000_000) }
}

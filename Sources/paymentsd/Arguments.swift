import PaymentsJournal
import PaymentsPlatform
import PaymentsServer

/// The command line of `paymentsd` (§5), parsed by hand. `--flag value` and `--flag=value`.
enum Arguments {
    enum Parsed {
        case serve(DaemonConfiguration)
        case verify(directory: String?)
        case verifyLedger(uri: String, ledger: String)
        case help
        case version
        case usageError(String)
    }

    static let usage = """
        usage: paymentsd [OPTIONS]
               paymentsd verify [--data-dir DIR]
               paymentsd verify --journal URI [--ledger NAME]
               paymentsd --version

        Serves the payments engine over a Unix socket, TCP and HTTP, journaling every transaction
        to disk before acknowledging it. With no listener flag it listens on ./paymentsd.sock,
        127.0.0.1:7300 (line protocol) and 127.0.0.1:7380 (HTTP); under systemd it uses the
        sockets passed to it and $STATE_DIRECTORY. Every listener address is checked before
        anything is created: a mistake is a usage error (exit 2).

          --data-dir DIR            journal and snapshots (default $STATE_DIRECTORY or ./paymentsd-data)
          --unix PATH               line protocol on a Unix socket (repeatable)
          --tcp HOST:PORT           line protocol on TCP (repeatable)
          --http HOST:PORT          HTTP API (repeatable)
          --fsync POLICY            always (default): acknowledge only what is on stable storage;
                                    periodic: sync about every 100 ms; never: leave it to the OS
          --allow-remote            allow TCP/HTTP addresses other than loopback; they also need
                                    --auth-file and TLS, unless --insecure
          --auth-file FILE          tokens with roles, one "ROLE NAME SHA256HEX" line each (mode 0600
                                    or 0640; paymentsctl hash-token prints a line): TCP and HTTP
                                    listeners then require a token (AUTH line, Bearer header)
          --auth-unix               Unix sockets require a token too (else their file mode guards them)
          --tls-cert FILE           TLS 1.2/1.3 on every TCP and HTTP listener: certificate chain (PEM)
          --tls-key FILE            its private key (PEM); both reloaded on SIGHUP with the tokens
          --tls-client-ca FILE      require client certificates signed by this CA
          --tls-handshake-timeout S seconds a client has to finish the TLS handshake (default 10)
          --insecure                serve a non-loopback listener without tokens and TLS (warned
                                    about at start and every hour)
          --max-connections N       open connections, all listeners together (default 1024);
                                    Unix sockets take \(DaemonConfiguration.reservedUnixConnections) more, so operators always get in
          --max-line-bytes N        longest line (default 4096)
          --max-pending-bytes N     reply bytes a client may leave unread before it stops being
                                    read (default 1048576)
          --max-body-bytes N        largest HTTP request body (default 16777216)
          --http-idle-timeout S     seconds for an HTTP request to arrive complete (default 30)
          --snapshot-bytes N        journal growth between automatic snapshots (default 268435456)
          --segment-bytes N         journal segment size (default 67108864)
          --journal URI             keep the journal in PostgreSQL (a libpq URI or keyword string;
                                    several hosts, target_session_attrs, sslmode, PGPASSFILE work)
                                    and serve one ledger with other daemons: one leads, the others
                                    follow and take over (the data directory then holds only a lock)
          --ledger NAME             the ledger the daemons share (default "default")
          --node-name NAME          this daemon's name as others report it (default host:pid)
          --lease-ms N              the leader's lease (default 2000)
          --poll-ms N               how often a standby polls for new batches (default 20)
          --log-level LEVEL         error, warning, info (default) or debug
          --help                    this text
          --version                 print "paymentsd VERSION" and exit

        verify checks a data directory as recovery would, without changing it: exit 0 when
        clean, 2 when only a torn tail would be cut, 1 on damage. With --journal it checks every
        snapshot and batch of the ledger in PostgreSQL: 0 clean, 1 damage, 2 unreachable.

        """

    static func parse(_ arguments: [String]) -> Parsed {
        var args = arguments[...]
        if args.first == "verify" {
            args = args.dropFirst()
            var directory: String?, uri: String?, ledger = "default"
            while let arg = args.popFirst() {
                let (flag, inline) = split(arg)
                guard ["--data-dir", "--journal", "--ledger"].contains(flag), let value = inline ?? args.popFirst() else {
                    return .usageError("verify takes --data-dir DIR, or --journal URI [--ledger NAME]")
                }
                switch flag {
                case "--data-dir": directory = value
                case "--journal": uri = value
                default: ledger = value
                }
            }
            if let uri {
                guard directory == nil else { return .usageError("verify takes --data-dir or --journal, not both") }
                return .verifyLedger(uri: uri, ledger: ledger)
            }
            return .verify(directory: directory)
        }
        var c = DaemonConfiguration()
        while let arg = args.popFirst() {
            let (flag, inline) = split(arg)
            if flag == "--help" || flag == "-h" { return .help }
            if flag == "--version" { return .version }
            if flag == "--allow-remote" { c.allowRemote = true; continue }
            if flag == "--insecure" { c.insecure = true; continue }
            if flag == "--auth-unix" { c.authUnix = true; continue }
            guard valueFlags.contains(flag) else { return .usageError("unknown option \(flag)") }
            guard let value = inline ?? args.popFirst() else { return .usageError("\(flag) needs a value") }
            switch flag {
            case "--data-dir": c.dataDirectory = value
            case "--unix": c.unixPaths.append(value)
            case "--tcp": c.tcpAddresses.append(value)
            case "--http": c.httpAddresses.append(value)
            case "--fsync":
                guard let policy = SyncPolicy(rawValue: value) else { return .usageError("--fsync takes always, periodic or never") }
                c.fsync = policy
            case "--journal": c.journalURI = value
            case "--auth-file": c.authFile = value
            case "--tls-cert": c.tlsCertificate = value
            case "--tls-key": c.tlsKey = value
            case "--tls-client-ca": c.tlsClientCA = value
            case "--ledger":
                guard !value.isEmpty, value.utf8.count <= 200 else { return .usageError("--ledger takes a name of 1 to 200 bytes") }
                c.ledger = value
            case "--node-name":
                guard !value.isEmpty, value.utf8.count <= 200, !value.contains(" ") else {
                    return .usageError("--node-name takes a name of 1 to 200 bytes without spaces")
                }
                c.nodeName = value
            case "--log-level":
                guard let level = LogLevel(word: value) else { return .usageError("--log-level takes error, warning, info or debug") }
                c.logLevel = level
            case "--max-connections", "--max-line-bytes", "--max-pending-bytes", "--max-body-bytes",
                "--http-idle-timeout", "--snapshot-bytes", "--segment-bytes", "--lease-ms", "--poll-ms", "--tls-handshake-timeout":
                guard let n = Int(value), n > 0 else { return .usageError("\(flag) takes a positive integer") }
                switch flag {
                case "--max-connections": c.maxConnections = n
                case "--max-line-bytes": c.maxLineBytes = n
                case "--max-pending-bytes": c.maxPendingReplyBytes = n
                case "--max-body-bytes": c.maxBodyBytes = n
                case "--http-idle-timeout": c.httpIdleTimeoutSeconds = n
                case "--snapshot-bytes": c.snapshotAfterBytes = n
                case "--lease-ms": c.leaseMilliseconds = n
                case "--poll-ms": c.pollMilliseconds = n
                case "--tls-handshake-timeout": c.tlsHandshakeTimeoutSeconds = n
                default: c.segmentBytes = n
                }
            default: return .usageError("unknown option \(flag)")
            }
        }
        if c.journalURI != nil && c.fsync != .always {
            return .usageError("--fsync applies to the local journal; with --journal every reply waits for its COMMIT")
        }
        if c.journalURI == nil && (c.ledger != "default" || c.nodeName != nil) {
            return .usageError("--ledger and --node-name need --journal")
        }
        if c.pollMilliseconds >= c.leaseMilliseconds {
            return .usageError("--poll-ms must be shorter than --lease-ms")
        }
        if (c.tlsCertificate == nil) != (c.tlsKey == nil) { return .usageError("--tls-cert and --tls-key go together") }
        if c.tlsClientCA != nil && !c.usesTLS { return .usageError("--tls-client-ca needs --tls-cert and --tls-key") }
        if c.authUnix && c.authFile == nil { return .usageError("--auth-unix needs --auth-file") }
        if let problem = listenerProblem(c) { return .usageError(problem) }
        return .serve(c)
    }

    /// The first listener flag whose address cannot be used, in words; nil when all can.
    /// Checked here, before the data directory is created or recovered and before any socket
    /// is bound, so that `--tcp 7390` (no host) is a usage error like any other.
    static func listenerProblem(_ c: DaemonConfiguration) -> String? {
        for path in c.unixPaths {
            do throws(SocketAddress.ParseError) { _ = try SocketAddress.unixPath(path) } catch {
                return "--unix \(path): \(error.reason)"
            }
        }
        for (flag, texts) in [("--tcp", c.tcpAddresses), ("--http", c.httpAddresses)] {
            for text in texts {
                let address: SocketAddress
                do throws(SocketAddress.ParseError) { address = try SocketAddress.hostPort(text) } catch {
                    return "\(flag) \(text): \(error.reason) (for example \(flag) 127.0.0.1:\(flag == "--tcp" ? 7300 : 7380))"
                }
                if !address.isLoopback && !c.allowRemote {
                    return "\(flag) \(text) is not a loopback address: pass --allow-remote to accept connections from other hosts"
                }
                if !address.isLoopback, let problem = c.remoteAccessProblem(listening: "\(flag) \(text)") { return problem }
            }
        }
        return nil
    }

    static let valueFlags: Set<String> = [
        "--data-dir", "--unix", "--tcp", "--http", "--fsync", "--log-level", "--max-connections", "--max-line-bytes",
        "--max-pending-bytes", "--max-body-bytes", "--http-idle-timeout", "--snapshot-bytes", "--segment-bytes",
        "--journal", "--ledger", "--node-name", "--lease-ms", "--poll-ms", "--auth-file", "--tls-cert", "--tls-key",
        "--tls-client-ca", "--tls-handshake-timeout",
    ]

    static func split(_ arg: String) -> (String, String?) {
        guard arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") else { return (arg, nil) }
        return (String(arg[..<eq]), String(arg[arg.index(after: eq)...]))
    }
}

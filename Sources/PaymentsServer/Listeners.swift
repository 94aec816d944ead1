import PaymentsPlatform

/// Opens the daemon's listeners: the sockets systemd passed (named `http` for HTTP, anything
/// else for the line protocol), or the ones the flags name, or the three defaults.
struct Listeners {
    let configuration: DaemonConfiguration
    let service: DaemonService
    let log: Logger

    func open(on loop: EventLoop, passed: [SystemdListenFDs.PassedSocket]) throws(DaemonError) {
        let lines = ListenerConfiguration(
            protocolName: "line", framing: .lines, limits: limits(), handler: LineProtocol(service: service))
        var http = ListenerConfiguration(
            protocolName: "http", framing: .raw, limits: limits(),
            handler: HTTPProtocol(service: service, configuration: configuration),
            rejectionReply: HTTPProtocol.tooManyConnectionsResponse)
        http.plainTextOnTLSReply = HTTPProtocol.plainHTTPOnTLSResponse
        if !passed.isEmpty {
            if !configuration.usesDefaultListeners {
                log.warning("ignoring --unix/--tcp/--http: systemd passed \(passed.count) socket(s), which are used instead")
            }
            // Adopted, never bound: systemd owns these sockets and their files, which stay on exit.
            for socket in passed {
                let listener = try system { () throws(SystemError) in
                    try loop.adopt(listening: socket.descriptor, socket.name == "http" ? http : lines)
                }
                if let address = listener.address, !address.isUnix, !address.isLoopback {
                    if let problem = configuration.remoteAccessProblem(listening: "\(listener.displayName), passed by systemd,") {
                        throw .configuration(problem)
                    }
                }
                secure(listener)
                log.info("listening on \(listener.displayName), passed by systemd as \(socket.name)")
            }
            return
        }
        var unix = configuration.unixPaths, tcp = configuration.tcpAddresses, web = configuration.httpAddresses
        if configuration.usesDefaultListeners {
            unix = [DaemonConfiguration.defaultUnixPath]
            tcp = [DaemonConfiguration.defaultTCPAddress]
            web = [DaemonConfiguration.defaultHTTPAddress]
        }
        for path in unix { try listen(loop, try address { () throws(SocketAddress.ParseError) in try .unixPath(path) }, lines) }
        for text in tcp { try listen(loop, try network(text), lines) }
        for text in web { try listen(loop, try network(text), http) }
    }

    func limits() -> ConnectionLimits {
        ConnectionLimits(
            maxLineBytes: configuration.maxLineBytes, outputHighWaterBytes: configuration.maxPendingReplyBytes,
            outputLowWaterBytes: configuration.maxPendingReplyBytes / 4)
    }

    /// A TCP address, refused when it is not loopback unless `--allow-remote` was given.
    func network(_ text: String) throws(DaemonError) -> SocketAddress {
        let parsed = try address { () throws(SocketAddress.ParseError) in try .hostPort(text) }
        if !parsed.isLoopback {
            guard configuration.allowRemote else {
                throw .startup("\(text) is not a loopback address: pass --allow-remote to accept connections from other hosts")
            }
        }
        return parsed
    }

    func address(_ body: () throws(SocketAddress.ParseError) -> SocketAddress) throws(DaemonError) -> SocketAddress {
        do { return try body() } catch { throw .startup("\(error)") }
    }

    func listen(_ loop: EventLoop, _ address: SocketAddress, _ config: ListenerConfiguration) throws(DaemonError) {
        do {
            let listener = try loop.listen(on: address, config)
            secure(listener)
            log.info("listening on \(listener.displayName)")
        } catch {
            throw .startup("cannot listen on \(address): \(error.message)")
        }
    }

    /// Tokens on every TCP and HTTP listener, and on Unix sockets with `--auth-unix` (§9).
    func secure(_ listener: Listener) {
        listener.requiresAuth = service.tokens != nil && (!listener.isUnix || configuration.authUnix)
        if !listener.isUnix { listener.tls = service.tls }
    }

    /// What guards the listeners, in one log line after they are open (each listener's own
    /// line keeps its form, `listening on ADDRESS (PROTOCOL)`, which scripts read).
    func describeSecurity(_ loop: EventLoop) {
        if service.tokens != nil {
            let guarded = loop.listeners.filter(\.requiresAuth).map(\.displayName)
            log.info("tokens required on \(guarded.isEmpty ? "no listener" : guarded.joined(separator: ", "))")
        }
        // Remote listeners served with --insecure, flags' and systemd's alike (and every hour: Daemon).
        for name in insecureRemoteListeners(loop) { log.warning(insecureWarning(name)) }
        if let tls = service.tls {
            let encrypted = loop.listeners.filter { $0.tls != nil }.map(\.displayName)
            log.info("TLS (certificate \(tls.certificate)\(tls.clientCA.map { ", client certificates from \($0) required" } ?? "")) on "
                + (encrypted.isEmpty ? "no listener" : encrypted.joined(separator: ", ")))
        }
    }

    /// Remote listeners go without tokens or TLS: only possible with `--insecure`.
    var isInsecure: Bool { configuration.authFile == nil || !configuration.usesTLS }

    /// Logged at start for each remote listener served with `--insecure`, and every hour (§9).
    func insecureWarning(_ listening: String) -> String {
        let missing = [configuration.authFile == nil ? "tokens" : nil, configuration.usesTLS ? nil : "TLS"].compactMap { $0 }
        return "\(listening) is reachable from other hosts without \(missing.joined(separator: " or ")) (--insecure): "
            + "anyone who reaches it can move money\(configuration.usesTLS ? "" : " and read the traffic")"
    }

    /// The remote listeners served with `--insecure`, for the hourly warning.
    func insecureRemoteListeners(_ loop: EventLoop) -> [String] {
        guard isInsecure else { return [] }
        return loop.listeners.compactMap { listener in
            guard let address = listener.address, !address.isUnix, !address.isLoopback else { return nil }
            return listener.displayName
        }
    }
}

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
        let http = ListenerConfiguration(
            protocolName: "http", framing: .raw, limits: limits(),
            handler: HTTPProtocol(service: service, configuration: configuration),
            rejectionReply: HTTPProtocol.tooManyConnectionsResponse)
        if !passed.isEmpty {
            if !configuration.usesDefaultListeners {
                log.warning("ignoring --unix/--tcp/--http: systemd passed \(passed.count) socket(s), which are used instead")
            }
            // Adopted, never bound: systemd owns these sockets and their files, which stay on exit.
            for socket in passed {
                let listener = try system { () throws(SystemError) in
                    try loop.adopt(listening: socket.descriptor, socket.name == "http" ? http : lines)
                }
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
            log.warning("listening on \(text), reachable from other hosts: there is no authentication")
        }
        return parsed
    }

    func address(_ body: () throws(SocketAddress.ParseError) -> SocketAddress) throws(DaemonError) -> SocketAddress {
        do { return try body() } catch { throw .startup("\(error)") }
    }

    func listen(_ loop: EventLoop, _ address: SocketAddress, _ config: ListenerConfiguration) throws(DaemonError) {
        do {
            let listener = try loop.listen(on: address, config)
            log.info("listening on \(listener.displayName)")
        } catch {
            throw .startup("cannot listen on \(address): \(error.message)")
        }
    }
}

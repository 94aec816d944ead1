import PaymentsPlatform

/// Accepting: the connection limit, and what happens when the process runs out of descriptors.
extension EventLoop {
    func acceptConnections(_ listener: Listener) {
        for _ in 0..<Self.maxAcceptsPerWakeup {
            guard !listener.isClosed else { return }
            let accepted: FileDescriptor?
            do throws(SystemError) {
                accepted = try listener.descriptor.accept()
            } catch {
                return acceptFailed(listener, error)
            }
            guard let fd = accepted else { return }
            if connectionCount >= limit(for: listener) {
                reject(fd, listener)
            } else {
                open(fd, on: listener)
            }
        }
    }

    private func open(_ fd: FileDescriptor, on listener: Listener) {
        let connection = Connection(id: nextConnectionID, listener: listener, descriptor: fd, loop: self)
        nextConnectionID += 1
        connection.token = table.insert(fd, .connection(connection))
        do throws(SystemError) {
            try epoll.add(fd, .readable, token: connection.token)
            connection.registeredEvents = .readable
        } catch {
            log(.error, "accept on \(listener.displayName): \(error)")
            table.remove(fd)
            try? fd.close()
            return
        }
        connectionCount += 1
        listener.configuration.handler.connectionOpened(connection)
        if let tls = listener.tls, !startTLS(connection, tls) { closeConnection(connection) }
    }

    /// Open connections at which `listener` refuses: a Unix socket takes a few more than the
    /// others, so TCP and HTTP clients can never fill the last slots an operator needs.
    func limit(for listener: Listener) -> Int {
        configuration.maxConnections + (listener.isUnix ? configuration.reservedUnixConnections : 0)
    }

    /// One over the limit hears why and is closed; best effort, it must not cost a buffer.
    private func reject(_ fd: FileDescriptor, _ listener: Listener) {
        rejectedConnectionCount += 1
        // A TLS client could not read a reply in clear: it is just closed.
        if listener.tls == nil { listener.configuration.rejectionReply.withUnsafeBytes { _ = try? fd.sendOnce($0) } }
        try? fd.shutdown(.write)
        try? fd.close()
        refusals.refused(on: listener, by: self)
    }

    /// Out of descriptors: the pending connection stays queued and epoll would report it
    /// again at once, so stop watching listeners until a connection closes.
    private func acceptFailed(_ listener: Listener, _ error: SystemError) {
        let exhausted = error.isResourceExhaustion
        log(exhausted ? .warning : .error, "accept on \(listener.displayName): \(error)")
        if exhausted { setAccepting(false) }
    }

    /// Watches (or stops watching) every open listener for new connections.
    func setAccepting(_ on: Bool) {
        acceptSuspended = !on
        for listener in listeners where !listener.isClosed {
            try? epoll.modify(listener.descriptor, on ? .readable : [], token: listener.token)
        }
    }
}

import Glibc
import CPaymentsLinux

/// Socket calls, each through the `syscall` funnel. Every socket is created `SOCK_CLOEXEC`;
/// listening and accepted sockets are non-blocking, made for the event loop.
public enum Socket {
    /// Connections the kernel queues before `accept`; Linux caps it at `somaxconn`.
    public static let defaultBacklog: Int32 = 511
    /// A Unix socket file gets this mode: the owner and its group may connect, nobody else.
    public static let unixSocketMode: mode_t = 0o660

    /// Opens a non-blocking listening socket. For a Unix path: a stale socket file (nothing
    /// answers on it) is replaced, a live one is an error, the new file gets mode 0660.
    /// For TCP: `SO_REUSEADDR`, and IPv6 sockets are IPv6-only so `[::]` and `0.0.0.0` can coexist.
    public static func listen(
        on address: SocketAddress, backlog: Int32 = defaultBacklog
    ) throws(SystemError) -> FileDescriptor {
        if case .unix(let path) = address { try removeStaleSocketFile(path) }
        let fd = try open(address.family, Int32(SOCK_STREAM.rawValue), nonBlocking: true, label: address.description)
        do throws(SystemError) {
            if address.isUnix == false {
                try fd.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
                if address.family == AF_INET6 { try fd.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            }
            _ = try syscall("bind", address.description) {
                address.withSockaddr { Glibc.bind(fd.rawValue, $0, $1) }
            }
            if case .unix(let path) = address {
                _ = try syscall("chmod", path) { Glibc.chmod(path, unixSocketMode) }
            }
            _ = try syscall("listen", address.description) { Glibc.listen(fd.rawValue, backlog) }
            return fd
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// A socket file left by a daemon that died is removed; one where a daemon answers is
    /// `EADDRINUSE`; a path that is not a socket is left alone (bind then fails on it).
    private static func removeStaleSocketFile(_ path: String) throws(SystemError) {
        var st = Glibc.stat()
        guard Glibc.lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK else { return }
        do throws(SystemError) {
            let probe = try connect(to: .unix(path: path))
            try? probe.close()
            throw SystemError(call: "bind", subject: "\(path) (another process is listening on it)", errno: EADDRINUSE)
        } catch where error.errno == ECONNREFUSED {
            try FileSystem.remove(path)
        }
    }

    /// Connects a stream socket, blocking until connected (the client's way).
    public static func connect(to address: SocketAddress, nonBlocking: Bool = false) throws(SystemError) -> FileDescriptor {
        let fd = try open(address.family, Int32(SOCK_STREAM.rawValue), nonBlocking: false, label: address.description)
        do throws(SystemError) {
            _ = try syscall("connect", address.description) {
                address.withSockaddr { Glibc.connect(fd.rawValue, $0, $1) }
            }
            if nonBlocking { try fd.setNonBlocking() }
            return fd
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// A new socket of `family` and `type` (`Int32(SOCK_STREAM.rawValue)`, `SOCK_DGRAM`), close-on-exec.
    public static func open(
        _ family: Int32, _ type: Int32, nonBlocking: Bool, label: String? = nil
    ) throws(SystemError) -> FileDescriptor {
        var flags = type | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { flags |= Int32(SOCK_NONBLOCK.rawValue) }
        let raw = try syscall("socket", label) { Glibc.socket(family, flags, 0) }
        return FileDescriptor(rawValue: raw, label: label)
    }
}

/// Which direction `shutdown` closes.
public enum ShutdownDirection: Sendable {
    case read, write, both
    var raw: Int32 {
        switch self {
        case .read: return Int32(SHUT_RD)
        case .write: return Int32(SHUT_WR)
        case .both: return Int32(SHUT_RDWR)
        }
    }
}

extension FileDescriptor {
    /// Accepts one pending connection as a non-blocking, close-on-exec socket; nil when none is
    /// waiting (`EAGAIN`). The corresponding C function is `accept4`.
    public func accept() throws(SystemError) -> FileDescriptor? {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        do throws(SystemError) {
            let raw = try syscall("accept4", label) { cpl_accept4(rawValue, nil, nil, flags) }
            return FileDescriptor(rawValue: raw, label: label.map { "connection on \($0)" })
        } catch where error.isWouldBlock || error.errno == ECONNABORTED {
            return nil
        }
    }

    /// Closes one or both directions; `.write` tells the peer we are done sending (it reads
    /// end of file). The corresponding C function is `shutdown`.
    public func shutdown(_ direction: ShutdownDirection) throws(SystemError) {
        _ = try syscall("shutdown", label) { Glibc.shutdown(rawValue, direction.raw) }
    }

    /// Sets an integer socket option. The corresponding C function is `setsockopt`.
    public func setOption(_ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        _ = try syscall("setsockopt", label) {
            Glibc.setsockopt(rawValue, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Reads an integer socket option. The corresponding C function is `getsockopt`.
    public func option(_ level: Int32, _ name: Int32) throws(SystemError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try syscall("getsockopt", label) { Glibc.getsockopt(rawValue, level, name, &value, &length) }
        return value
    }

    /// The address this socket is bound to (how to learn the port after binding port 0).
    /// The corresponding C function is `getsockname`.
    public func localAddress() throws(SystemError) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try syscall("getsockname", label) {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.getsockname(rawValue, $0, &length) }
            }
        }
        return SocketAddress(storage: storage, length: length)
    }

    /// The first byte waiting on a connected socket, left in place (`MSG_PEEK`); nil when
    /// none has arrived yet (`EAGAIN`) or the peer closed (`peerClosed` then true).
    public func peekByte(peerClosed: inout Bool) throws(SystemError) -> UInt8? {
        var byte: UInt8 = 0
        do throws(SystemError) {
            let count = try syscall("recv", label) { Glibc.recv(rawValue, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) }
            peerClosed = count == 0
            return count == 1 ? byte : nil
        } catch where error.isWouldBlock {
            return nil
        }
    }

    /// Writes once to a connected socket; may write fewer bytes than given. `MSG_NOSIGNAL`: a
    /// closed peer is `EPIPE`, never a `SIGPIPE`. The corresponding C function is `send`.
    public func sendOnce(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        try syscall("send", label) { Glibc.send(rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends one datagram to `address`. The corresponding C function is `sendto`.
    public func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress) throws(SystemError) -> Int {
        try syscall("sendto", address.description) {
            address.withSockaddr { Glibc.sendto(rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
    }

    /// Writes from several buffers at once; may write fewer bytes than given.
    /// The corresponding C function is `writev`.
    public func writev(_ vectors: UnsafeBufferPointer<iovec>) throws(SystemError) -> Int {
        try syscall("writev", label) { Glibc.writev(rawValue, vectors.baseAddress, Int32(vectors.count)) }
    }

    /// Sets `FD_CLOEXEC` (descriptors inherited from systemd do not have it).
    public func setCloseOnExec() throws(SystemError) {
        let flags = try syscall("fcntl", label) { Glibc.fcntl(rawValue, F_GETFD) }
        if flags & FD_CLOEXEC == 0 {
            _ = try syscall("fcntl", label) { Glibc.fcntl(rawValue, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}

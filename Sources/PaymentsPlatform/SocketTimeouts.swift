import Glibc

/// Connecting and talking with time limits: what a client that must not hang on a peer that
/// is away (a Redis server on a host that drops packets) needs.
extension Socket {
    /// Connects a stream socket within `timeoutMilliseconds` (a non-blocking `connect`, then
    /// `poll` for writability and `SO_ERROR`); the socket is returned blocking, or
    /// non-blocking when asked. A time limit that runs out is `ETIMEDOUT`.
    /// The corresponding C functions are `connect`, `poll` and `getsockopt(SO_ERROR)`.
    public static func connect(
        to address: SocketAddress, timeoutMilliseconds: Int32, nonBlocking: Bool = false
    ) throws(SystemError) -> FileDescriptor {
        let fd = try open(address.family, Int32(SOCK_STREAM.rawValue), nonBlocking: true, label: address.description)
        do throws(SystemError) {
            let started = address.withSockaddr { Glibc.connect(fd.rawValue, $0, $1) }
            if started == -1 {
                let code = errno
                guard code == EINPROGRESS || code == EINTR else {
                    throw SystemError(call: "connect", subject: address.description, errno: code)
                }
                var entries = [PollEntry(fd, read: false, write: true)]
                if try Poll.wait(&entries, timeoutMilliseconds: timeoutMilliseconds) == 0 {
                    throw SystemError(call: "connect", subject: address.description, errno: ETIMEDOUT)
                }
                let failure = try fd.option(SOL_SOCKET, SO_ERROR)
                if failure != 0 { throw SystemError(call: "connect", subject: address.description, errno: failure) }
            }
            if !nonBlocking { try fd.setNonBlocking(false) }
            return fd
        } catch {
            try? fd.close()
            throw error
        }
    }
}

extension FileDescriptor {
    /// Bounds every blocking `read` and `send` on this socket to `milliseconds` (`SO_RCVTIMEO`,
    /// `SO_SNDTIMEO`); one that runs out fails with `EAGAIN`. The C function is `setsockopt`.
    public func setTimeouts(milliseconds: Int) throws(SystemError) {
        var limit = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        for name in [SO_RCVTIMEO, SO_SNDTIMEO] {
            _ = try syscall("setsockopt", label) {
                Glibc.setsockopt(rawValue, SOL_SOCKET, name, &limit, socklen_t(MemoryLayout<timeval>.size))
            }
        }
    }

    /// Sends small writes at once instead of waiting to coalesce them (Nagle's algorithm off):
    /// a pipelined client writes whole batches itself. The C function is `setsockopt(TCP_NODELAY)`.
    public func setNoDelay() throws(SystemError) {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }
}

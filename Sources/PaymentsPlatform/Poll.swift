import Glibc

/// `poll(2)` over a few descriptors: the client's way to send and receive at once on one
/// thread without an epoll instance.
public struct PollEntry: Sendable {
    public var descriptor: FileDescriptor
    public var wantRead: Bool
    public var wantWrite: Bool
    public private(set) var isReadable = false
    public private(set) var isWritable = false
    /// Hang-up or error: a read or write will tell which.
    public private(set) var isBroken = false

    public init(_ descriptor: FileDescriptor, read: Bool, write: Bool) {
        self.descriptor = descriptor
        wantRead = read
        wantWrite = write
    }

    mutating func set(revents: Int16) {
        isReadable = revents & Int16(POLLIN) != 0
        isWritable = revents & Int16(POLLOUT) != 0
        isBroken = revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
    }
}

public enum Poll {
    /// Waits until one entry is ready or `timeoutMilliseconds` pass (-1: forever) and fills in
    /// each entry's readiness; returns how many are ready. The corresponding C function is `poll`.
    @discardableResult
    public static func wait(_ entries: inout [PollEntry], timeoutMilliseconds: Int32 = -1) throws(SystemError) -> Int {
        var fds = entries.map { entry in
            pollfd(
                fd: entry.descriptor.rawValue,
                events: (entry.wantRead ? Int16(POLLIN) : 0) | (entry.wantWrite ? Int16(POLLOUT) : 0),
                revents: 0)
        }
        let ready = try syscall("poll") { Glibc.poll(&fds, nfds_t(fds.count), timeoutMilliseconds) }
        for index in entries.indices { entries[index].set(revents: fds[index].revents) }
        return Int(ready)
    }
}

extension FileDescriptor {
    /// Whether this is a terminal (progress lines only make sense on one).
    /// The corresponding C function is `isatty`.
    public var isTerminal: Bool { Glibc.isatty(rawValue) == 1 }

    /// Opens an existing file for reading. The corresponding C function is `open(O_RDONLY)`.
    public static func openForReading(_ path: String) throws(SystemError) -> FileDescriptor {
        try open(path, O_RDONLY)
    }
}

extension Environment {
    /// Ends the process with `status`, flushing nothing (write buffers first).
    /// The corresponding C function is `exit`.
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}

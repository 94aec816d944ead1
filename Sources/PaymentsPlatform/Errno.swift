import Glibc

/// A failed system call: which call, on what (a path or an address, when there is one), and the
/// `errno` it returned. Rendered as one line for people:
/// `fdatasync ./paymentsd-data/00000001.journal: Input/output error`.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let subject: String?
    public let errno: Int32

    public init(call: String, subject: String? = nil, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    public var message: String { String(cString: strerror(errno)) }

    public var description: String {
        if let subject { return "\(call) \(subject): \(message)" }
        return "\(call): \(message)"
    }

    /// The same failure, now naming the file or address it happened on.
    public func about(_ subject: String) -> SystemError {
        SystemError(call: call, subject: subject, errno: errno)
    }

    public var isWouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }

    /// The process or the system ran out of descriptors or buffers (`EMFILE`, `ENFILE`,
    /// `ENOBUFS`, `ENOMEM`): retrying at once would fail the same way.
    public var isResourceExhaustion: Bool { [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(errno) }

    /// The peer is gone (`ECONNREFUSED` on connect; `EPIPE`, `ECONNRESET` on a live socket).
    public var isConnectionRefused: Bool { errno == ECONNREFUSED }
    public var isNoSuchFile: Bool { errno == ENOENT }
    /// The filesystem or the user's quota is full (`ENOSPC`, `EDQUOT`): a write may succeed
    /// again once space is freed.
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
    public var isPeerGone: Bool { errno == EPIPE || errno == ECONNRESET }
}

import Glibc

extension FileDescriptor {
    /// Takes an exclusive advisory lock without waiting; `false` when another process holds it.
    /// The lock lasts until the descriptor is closed. The corresponding C function is `flock`.
    public func tryLockExclusive() throws(SystemError) -> Bool {
        if flock(rawValue, LOCK_EX | LOCK_NB) == 0 { return true }
        let code = errno
        if code == EWOULDBLOCK { return false }
        if code == EINTR { return try tryLockExclusive() }
        throw SystemError(call: "flock", subject: label, errno: code)
    }
}

import Glibc
import CPaymentsLinux

extension FileDescriptor {
    /// Takes an exclusive advisory lock without waiting; `false` when another process (or another
    /// open file description) holds it. The lock lasts until the descriptor is closed, and the
    /// kernel drops it when the process dies, so a crash never leaves a stale lock behind.
    /// The corresponding C function is `flock(LOCK_EX | LOCK_NB)`.
    public func tryLockExclusive() throws(SystemError) -> Bool {
        while true {
            if cpl_flock(rawValue, LOCK_EX | LOCK_NB) == 0 { return true }
            let code = errno
            if code == EWOULDBLOCK { return false }
            if code != EINTR { throw SystemError(call: "flock", subject: label, errno: code) }
        }
    }
}

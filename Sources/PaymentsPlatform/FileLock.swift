import Glibc
import CPaymentsLinux

/// An exclusive advisory lock on a file, held for the life of the process: a second daemon
/// on the same data directory fails to take it and refuses to start. The kernel drops the
/// lock when the process dies, so a crash never leaves a stale lock behind.
public struct FileLock: Sendable {
    public let path: String
    public let descriptor: FileDescriptor

    /// The lock is taken by someone else (a second daemon on the same data directory).
    public struct HeldElsewhere: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let holder: String?
        public var description: String {
            let who = holder.map { " (pid \($0))" } ?? ""
            return "\(path) is locked by another process\(who): is another paymentsd using this data directory?"
        }
    }

    /// Opens (creating, mode 0600) `path` and locks it without waiting, then writes our pid
    /// into it for operators. The corresponding C function is `flock(LOCK_EX | LOCK_NB)`.
    public static func acquire(_ path: String) throws -> FileLock {
        let fd = try FileDescriptor.open(path, O_RDWR | O_CREAT, mode: 0o600)
        if cpl_flock(fd.rawValue, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = readHolder(fd)
            try? fd.close()
            if code == EWOULDBLOCK { throw HeldElsewhere(path: path, holder: holder) }
            throw SystemError(call: "flock", subject: path, errno: code)
        }
        try fd.truncate(to: 0)
        let pid = Array("\(getpid())\n".utf8)
        let written: Result<Void, SystemError> = pid.withUnsafeBytes { raw in
            do throws(SystemError) { try fd.writeAll(raw, at: 0); return .success(()) } catch { return .failure(error) }
        }
        try written.get()
        return FileLock(path: path, descriptor: fd)
    }

    private static func readHolder(_ fd: FileDescriptor) -> String? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = (try? bytes.withUnsafeMutableBytes { raw throws(SystemError) in try fd.read(into: raw, at: 0) }) ?? 0
        let text = String(decoding: bytes.prefix(count), as: UTF8.self).filter { $0.isNumber }
        return text.isEmpty ? nil : text
    }

    /// Releases the lock by closing the descriptor (the file stays; removing it would race
    /// with a daemon that just opened it).
    public func release() { try? descriptor.close() }
}

extension FileDescriptor {
    /// Takes an exclusive advisory lock without waiting; `false` when another process holds it.
    /// The lock lasts until the descriptor is closed. The corresponding C function is `flock`.
    public func tryLockExclusive() throws(SystemError) -> Bool {
        while true {
            if cpl_flock(rawValue, LOCK_EX | LOCK_NB) == 0 { return true }
            let code = errno
            if code == EWOULDBLOCK { return false }
            if code != EINTR { throw SystemError(call: "flock", subject: label, errno: code) }
        }
    }
}

public import Glibc

/// An open file descriptor and the calls made on it, each through the `syscall` funnel.
///
/// The value is a plain handle: whoever opened it owns it and calls `close()` exactly once.
/// Every error names the call and, when the descriptor was opened from a path, that path.
public struct FileDescriptor: Hashable, Sendable {
    public let rawValue: Int32
    /// The path or address this descriptor was opened on, for error messages.
    public let label: String?

    public init(rawValue: Int32, label: String? = nil) {
        self.rawValue = rawValue
        self.label = label
    }

    public static func == (a: FileDescriptor, b: FileDescriptor) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }

    public static let standardInput = FileDescriptor(rawValue: 0, label: "standard input")
    public static let standardOutput = FileDescriptor(rawValue: 1, label: "standard output")
    public static let standardError = FileDescriptor(rawValue: 2, label: "standard error")

    /// Opens `path`; `O_CLOEXEC` is always added. The corresponding C function is `open`.
    public static func open(
        _ path: String, _ flags: Int32, mode: mode_t = 0o600
    ) throws(SystemError) -> FileDescriptor {
        let fd = try syscall("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(rawValue: fd, label: path)
    }

    /// Closes the descriptor once. Not retried on `EINTR` (Linux has already released it).
    public func close() throws(SystemError) {
        if Glibc.close(rawValue) == -1 && errno != EINTR {
            throw SystemError(call: "close", subject: label, errno: errno)
        }
    }

    /// Reads at most `buffer.count` bytes; 0 means end of file. The corresponding C function is `read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try syscall("read", label) { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Reads at most `buffer.count` bytes at `offset`. The corresponding C function is `pread`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(SystemError) -> Int {
        try syscall("pread", label) { Glibc.pread(rawValue, buffer.baseAddress, buffer.count, offset) }
    }

    /// Writes once; may write fewer bytes than given. The corresponding C function is `write`.
    public func writeOnce(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        try syscall("write", label) { Glibc.write(rawValue, bytes.baseAddress, bytes.count) }
    }

    /// Writes every byte, looping over short writes. A failure is thrown, never ignored.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            done += try writeOnce(rest)
        }
    }

    /// Writes every byte of an array.
    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        let result: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAll(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Writes every byte at `offset`, looping over short writes. The corresponding C function is `pwrite`.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            done += try syscall("pwrite", label) {
                Glibc.pwrite(rawValue, rest.baseAddress, rest.count, offset + done)
            }
        }
    }

    /// Flushes the file's data to stable storage. A failure means the written data may be lost:
    /// callers must stop, not retry. The corresponding C function is `fdatasync`.
    public func dataSync() throws(SystemError) {
        _ = try syscall("fdatasync", label) { Glibc.fdatasync(rawValue) }
    }

    /// Flushes data and metadata (needed for directories after a rename). The C function is `fsync`.
    public func sync() throws(SystemError) {
        _ = try syscall("fsync", label) { Glibc.fsync(rawValue) }
    }

    /// Cuts or extends the file to `length` bytes. The corresponding C function is `ftruncate`.
    public func truncate(to length: Int) throws(SystemError) {
        _ = try syscall("ftruncate", label) { Glibc.ftruncate(rawValue, length) }
    }

    /// The file's size in bytes. The corresponding C function is `fstat`.
    public func size() throws(SystemError) -> Int {
        var st = Glibc.stat()
        _ = try syscall("fstat", label) { Glibc.fstat(rawValue, &st) }
        return Int(st.st_size)
    }

    /// Moves the file offset. The corresponding C function is `lseek`.
    @discardableResult
    public func seek(to offset: Int, whence: Int32 = SEEK_SET) throws(SystemError) -> Int {
        try syscall("lseek", label) { Glibc.lseek(rawValue, offset, whence) }
    }

    /// Sets or clears `O_NONBLOCK`. The corresponding C function is `fcntl`.
    public func setNonBlocking(_ on: Bool = true) throws(SystemError) {
        let flags = try syscall("fcntl", label) { Glibc.fcntl(rawValue, F_GETFL) }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try syscall("fcntl", label) { Glibc.fcntl(rawValue, F_SETFL, wanted) } }
    }

    /// Reads the 8-byte counter of an eventfd or timerfd, which resets it; 0 when nothing
    /// happened since the last read (the descriptor is non-blocking).
    public func readCounter() throws(SystemError) -> UInt64 {
        var value: UInt64 = 0
        do throws(SystemError) {
            _ = try syscall("read", label) { Glibc.read(rawValue, &value, 8) }
        } catch where error.isWouldBlock {
            return 0
        }
        return value
    }
}

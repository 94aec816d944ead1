public import Glibc

/// Ends the process with `status` (after a tool has flushed its own buffers).
public func exitProcess(_ status: Int32) -> Never { Glibc.exit(status) }

extension FileDescriptor {
    /// Opens an existing file for reading.
    public static func openForReading(_ path: String) throws(SystemError) -> FileDescriptor {
        try open(path, O_RDONLY)
    }

    /// Creates or empties a file for writing, with mode 0644.
    public static func openForWriting(_ path: String, mode: mode_t = 0o644) throws(SystemError) -> FileDescriptor {
        try open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
    }
}

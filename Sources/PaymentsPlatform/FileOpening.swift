public import Glibc

extension FileDescriptor {
    /// Creates or empties a file for writing, with mode 0644.
    public static func openForWriting(_ path: String, mode: mode_t = 0o644) throws(SystemError) -> FileDescriptor {
        try open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
    }
}

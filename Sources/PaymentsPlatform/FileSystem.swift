public import Glibc

/// Path-level calls (rename, unlink, mkdir, directory listing), each through the funnel.
public enum FileSystem {
    /// Atomically replaces `to` with `from`. The corresponding C function is `rename`.
    public static func rename(_ from: String, to: String) throws(SystemError) {
        _ = try syscall("rename", "\(from) -> \(to)") { Glibc.rename(from, to) }
    }

    /// Removes a file. The corresponding C function is `unlink`.
    public static func remove(_ path: String) throws(SystemError) {
        _ = try syscall("unlink", path) { Glibc.unlink(path) }
    }

    /// Creates a directory with `mode`; an existing directory is not an error.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(SystemError) {
        if Glibc.mkdir(path, mode) == 0 { return }
        let code = errno
        if code == EEXIST, isDirectory(path) { return }
        throw SystemError(call: "mkdir", subject: path, errno: code)
    }

    public static func exists(_ path: String) -> Bool {
        var st = Glibc.stat()
        return Glibc.fstatat(AT_FDCWD, path, &st, 0) == 0
    }

    /// The size of a regular file, or nil when it is not one (a pipe, a missing file).
    public static func regularFileSize(_ path: String) -> Int? {
        var st = Glibc.stat()
        guard Glibc.fstatat(AT_FDCWD, path, &st, 0) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    /// The permission bits (`st_mode & 0o7777`) of a file, following symbolic links (systemd's
    /// credentials are often links). The corresponding C function is `stat`.
    public static func permissionBits(_ path: String) throws(SystemError) -> UInt32 {
        var st = Glibc.stat()
        _ = try syscall("stat", path) { Glibc.fstatat(AT_FDCWD, path, &st, 0) }
        return UInt32(st.st_mode) & 0o7777
    }

    /// A small file's whole contents (a token list, a certificate); refused past `limit` bytes,
    /// so a wrong path to a large file fails clearly instead of filling memory.
    public static func readWholeFile(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let result: Result<Int, SystemError> = chunk.withUnsafeMutableBytes { raw in
                do throws(SystemError) { return .success(try fd.read(into: raw)) } catch { return .failure(error) }
            }
            let count = try result.get()
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            if bytes.count > limit { throw SystemError(call: "read", subject: "\(path) (larger than \(limit) bytes)", errno: EFBIG) }
        }
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = Glibc.stat()
        return Glibc.fstatat(AT_FDCWD, path, &st, 0) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory (without `.` and `..`), sorted. The C functions are `opendir`/`readdir`.
    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let dir = Glibc.opendir(path) else { throw SystemError(call: "opendir", subject: path, errno: errno) }
        defer { Glibc.closedir(dir) }
        var names: [String] = []
        while let entry = Glibc.readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Makes a directory's entries (a rename, a new or removed file) durable: `fsync` on the directory.
    public static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
        defer { try? fd.close() }
        try fd.sync()
    }
}

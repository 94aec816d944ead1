public import PaymentsPlatform

/// `--lsn-file`: the LSN of the last change-stream line a follower wrote out, as decimal text
/// and a newline. Replaced whole (a temporary file renamed over it), so a reader never sees
/// half a number; `durable` adds `fsync` of the file before the rename and of its directory
/// after, so that the record survives a power loss too.
public enum LSNFile {
    /// What the file holds that is not an LSN, said for people.
    public struct Damaged: Error, CustomStringConvertible {
        public let description: String
    }

    /// The recorded LSN, or nil when the file does not exist or is empty.
    public static func read(_ path: String) throws -> UInt64? {
        guard let bytes = try contents(path) else { return nil }
        var text = bytes[...]
        while let last = text.last, last == 0x0A || last == 0x0D || last == 0x20 { text.removeLast() }
        if text.isEmpty { return nil }
        guard text.count <= 20, text.allSatisfy({ $0 &- 48 < 10 }),
              let lsn = UInt64(String(decoding: text, as: UTF8.self))
        else { throw Damaged(description: "\(path) does not hold an LSN (one decimal number)") }
        return lsn
    }

    /// The first 64 bytes of the file, nil when it does not exist.
    private static func contents(_ path: String) throws(SystemError) -> [UInt8]? {
        let fd: FileDescriptor
        do throws(SystemError) { fd = try FileDescriptor.openForReading(path) } catch {
            if error.isNoSuchFile { return nil }
            throw error
        }
        defer { try? fd.close() }
        var buffer = [UInt8](repeating: 0, count: 64)
        var done = 0
        while done < buffer.count {
            let result: Result<Int, SystemError> = buffer.withUnsafeMutableBytes { raw in
                do throws(SystemError) {
                    return .success(try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[done...])))
                } catch { return .failure(error) }
            }
            let count = try result.get()
            if count == 0 { break }
            done += count
        }
        return Array(buffer[..<done])
    }

    /// Records `lsn` in `path` through `path.tmp` and a rename.
    public static func write(_ path: String, _ lsn: UInt64, durable: Bool) throws(SystemError) {
        let temporary = path + ".tmp"
        let fd = try FileDescriptor.openForWriting(temporary, mode: 0o644)
        do throws(SystemError) {
            try fd.writeAll(Array("\(lsn)\n".utf8))
            if durable { try fd.dataSync() }
            try fd.close()
        } catch {
            try? fd.close()
            throw error
        }
        try FileSystem.rename(temporary, to: path)
        if durable { try FileSystem.syncDirectory(directory(of: path)) }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

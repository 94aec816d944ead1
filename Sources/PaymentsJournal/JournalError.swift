public import PaymentsPlatform

/// Everything the journal can fail with. Each case renders as one line naming the file and,
/// for damage, the byte offset, so an operator knows where to look.
public enum JournalError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A system call failed (the error names the call and the path).
    case system(SystemError)
    /// A file's contents are not what was written: `reason` at byte `offset` of `file`.
    case damaged(file: String, offset: Int, reason: String)
    /// Segments or snapshot do not cover a contiguous run of LSNs.
    case gap(file: String, expectedLSN: UInt64, foundLSN: UInt64)
    /// An earlier write or sync failed; the journal takes no more writes (the data it holds in the
    /// page cache may never reach the disk, so retrying would pretend otherwise).
    indirect case failed(JournalError)
    /// Another process holds the journal directory.
    case locked(directory: String)
    /// A journal kept elsewhere (PostgreSQL) refused or could not be reached: one line naming it.
    case store(String)
    /// The store refused this daemon (a wrong password, no such database, a newer format):
    /// retrying cannot help, the operator must change something (the daemon exits 2).
    case refused(String)
    /// A journal write found the disk full: the batch was cut off the journal, nothing of it was
    /// acknowledged, and the journal takes writes again once `probeSpace` succeeds.
    case noSpace(SystemError)
    /// A snapshot could not be stored (a full disk, an I/O error on its own file, PostgreSQL
    /// away). The journal is intact: the daemon logs it, keeps serving and tries again later.
    case snapshotFailed(String)
    /// The caller broke the API contract (for example a record larger than `maxRecordBytes`).
    case invalidArgument(String)

    /// Damage, a gap or a refusal: a restart cannot fix it, an operator must (the daemon exits 2,
    /// which its systemd unit does not restart).
    public var needsOperator: Bool {
        switch self {
        case .damaged, .gap, .refused: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .system(let e): return e.description
        case .damaged(let file, let offset, let reason): return "\(file) at byte \(offset): \(reason)"
        case .gap(let file, let expected, let found):
            return "\(file): gap in journal, expected LSN \(expected), found \(found)"
        case .failed(let cause): return "journal stopped after an earlier failure: \(cause)"
        case .locked(let dir): return "\(dir): journal is in use by another process"
        case .invalidArgument(let why): return "invalid journal use: \(why)"
        case .store(let why): return why
        case .refused(let why): return why
        case .snapshotFailed(let why): return "snapshot not stored: \(why)"
        case .noSpace(let e): return "no space left on device (\(e))"
        }
    }
}

/// Runs `body`, turning a `SystemError` into a `JournalError`.
@inline(__always)
func io<T>(_ body: () throws(SystemError) -> T) throws(JournalError) -> T {
    do { return try body() } catch { throw .system(error) }
}

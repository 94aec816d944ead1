/// What `paymentsd verify` reports: what recovery would find, found without changing anything.
public struct VerifyResult: Sendable, CustomStringConvertible {
    public enum Outcome: Sendable, Equatable {
        /// Everything intact.
        case clean
        /// Only what recovery repairs by itself: a torn tail, leftover files.
        case repairable
        /// Recovery would refuse to start.
        case damaged
    }

    public var report: RecoveryReport
    /// The damage that would stop recovery (file and byte offset), if any.
    public var damage: JournalError?

    public var outcome: Outcome {
        if damage != nil { return .damaged }
        return report.warnings.isEmpty && report.fellBackFrom.isEmpty ? .clean : .repairable
    }

    /// 0 clean, 1 damaged, 2 repairable (recovery would cut or remove something, with a
    /// warning, or load an older snapshot because the newest is damaged).
    public var exitStatus: Int32 {
        switch outcome {
        case .clean: return 0
        case .damaged: return 1
        case .repairable: return 2
        }
    }

    public var description: String {
        var lines = report.warnings.map { "warning: \($0)" }
        if let damage { lines.append("damaged: \(damage)") } else { lines.append("ok: \(report)") }
        return lines.joined(separator: "\n")
    }
}

extension Journal {
    /// Checks the journal in `directory` the way `open` would (every snapshot and record
    /// checksum, segment continuity), reading only: nothing is cut, removed or locked.
    public static func verify(directory: String) -> VerifyResult {
        var recovery = Recovery(directory: directory, mode: .readOnly)
        do throws(JournalError) {
            try recovery.run(loadSnapshot: false)
            return VerifyResult(report: recovery.report, damage: nil)
        } catch {
            return VerifyResult(report: recovery.report, damage: error)
        }
    }
}

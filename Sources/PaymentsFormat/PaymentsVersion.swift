/// The release the programs report with `--version` (`paymentsd 0.5.0`, `payments 0.5.0`,
/// `paymentsctl 0.5.0`): one constant, so the three can never disagree.
public enum PaymentsVersion {
    public static let current = "0.5.0"

    /// `NAME VERSION` and a newline, as `--version` prints it.
    public static func line(_ program: String) -> String { "\(program) \(current)\n" }
}

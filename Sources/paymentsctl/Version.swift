import PaymentsFormat

/// What `paymentsctl --version` prints: `paymentsctl 0.5.0`. The release number is the one
/// constant all three programs print (`PaymentsVersion.current`), so they never disagree.
enum Version {
    static let text = "paymentsctl \(PaymentsVersion.current)"
}

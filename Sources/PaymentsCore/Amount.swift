/// An exact amount of money: a signed count of ten-thousandths (`1.5` is `15000`).
///
/// Binary floating point never touches money; every arithmetic step is checked and reports
/// overflow instead of wrapping or trapping, so the ledger can refuse the transaction.
public struct Amount: Hashable, Comparable, Sendable {
    public var units: Int64

    /// How many units make one whole currency unit: amounts carry four decimals.
    public static let unitsPerWhole: Int64 = 10_000
    public static let fractionDigits = 4
    public static let zero = Amount(units: 0)

    @inlinable public init(units: Int64) { self.units = units }

    @inlinable public static func < (a: Amount, b: Amount) -> Bool { a.units < b.units }

    /// `self + other`, or nil when the sum does not fit.
    @inlinable public func adding(_ other: Amount) -> Amount? {
        let (sum, overflow) = units.addingReportingOverflow(other.units)
        return overflow ? nil : Amount(units: sum)
    }

    /// `self - other`, or nil when the difference does not fit.
    @inlinable public func subtracting(_ other: Amount) -> Amount? {
        let (difference, overflow) = units.subtractingReportingOverflow(other.units)
        return overflow ? nil : Amount(units: difference)
    }
}

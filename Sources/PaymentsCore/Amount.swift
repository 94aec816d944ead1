/// An exact amount of money: a signed count of ten-thousandths (`1.5` is `15000`).
///
/// Binary floating point never touches money. The ledger does its arithmetic on `units` with
/// overflow-reporting operations, so a transaction that would overflow is refused, never
/// wrapped or trapped.
public struct Amount: Hashable, Comparable, Sendable {
    public var units: Int64

    /// How many units make one whole currency unit: amounts carry four decimals.
    public static let unitsPerWhole: Int64 = 10_000
    public static let fractionDigits = 4
    public static let zero = Amount(units: 0)

    @inlinable public init(units: Int64) { self.units = units }

    @inlinable public static func < (a: Amount, b: Amount) -> Bool { a.units < b.units }
}

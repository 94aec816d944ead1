// A latency histogram with fixed buckets, integer-only so that observing costs a few compares
// and adds, and rendering is exact (no binary floating point anywhere, as for amounts).

/// Counts of observed durations per bucket, their sum and count, in nanoseconds.
/// Buckets are upper-inclusive, as Prometheus' `le` ("less or equal") says.
public struct LatencyHistogram: Sendable, Hashable {
    /// 50 µs to 1 s: a journal `fdatasync` on an SSD takes tens of µs to a few ms; a stalled
    /// disk shows up in the top buckets and in `+Inf`.
    public static let defaultUpperBoundsNanoseconds: [UInt64] = [
        50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000,
    ]

    /// Strictly increasing finite upper bounds; `+Inf` is implicit.
    public let upperBoundsNanoseconds: [UInt64]
    /// Per-bucket (not cumulative) counts; the last one is the `+Inf` overflow bucket.
    public private(set) var bucketCounts: [UInt64]
    public private(set) var count: UInt64 = 0
    /// Wraps after 584 years of summed latency; fine for a counter that restarts with the process.
    public private(set) var sumNanoseconds: UInt64 = 0

    public init(upperBoundsNanoseconds: [UInt64] = LatencyHistogram.defaultUpperBoundsNanoseconds) {
        precondition(!upperBoundsNanoseconds.isEmpty, "a histogram needs at least one bucket")
        precondition(zip(upperBoundsNanoseconds, upperBoundsNanoseconds.dropFirst()).allSatisfy { $0 < $1 },
                     "histogram bounds must be strictly increasing")
        self.upperBoundsNanoseconds = upperBoundsNanoseconds
        self.bucketCounts = Array(repeating: 0, count: upperBoundsNanoseconds.count + 1)
    }

    /// Records one duration. A linear scan: with ~14 bounds and most values in the first few,
    /// it beats a binary search.
    public mutating func observe(nanoseconds: UInt64) {
        var i = 0
        let bounds = upperBoundsNanoseconds
        while i < bounds.count, nanoseconds > bounds[i] { i += 1 }
        bucketCounts[i] &+= 1
        count &+= 1
        sumNanoseconds &+= nanoseconds
    }

    /// Cumulative counts per bound, then `+Inf` (which equals `count`): what `_bucket` shows.
    public var cumulativeCounts: [UInt64] {
        var running: UInt64 = 0
        return bucketCounts.map { running &+= $0; return running }
    }
}

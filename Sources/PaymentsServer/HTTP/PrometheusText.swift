// The Prometheus text exposition format (version 0.0.4), rendered from integers.
// https://prometheus.io/docs/instrumenting/exposition_formats/
//
// Values are integers (counts, bytes, seconds) or exact decimal seconds from integer
// nanoseconds: no floating point on the way, so what is shown is exactly what was counted.

/// A page of metrics being written. Write each family's `# HELP`/`# TYPE` once (`family`),
/// then its samples; or use `counter`/`gauge`/`histogram` for a whole family at once.
public struct PrometheusText: Sendable {
    public enum MetricType: Sendable {
        case counter, gauge, histogram

        var text: StaticString {
            switch self {
            case .counter: "counter"
            case .gauge: "gauge"
            case .histogram: "histogram"
            }
        }
    }

    /// Label name/value pairs in order, e.g. `[("outcome", "applied")]`.
    public typealias Labels = [(name: String, value: String)]

    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// The page as text, for tests and logs.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// `# HELP name help` and `# TYPE name type`. Counter names end in `_total`, as the
    /// Prometheus naming rules ask; that is checked here, where a wrong name would be written.
    public mutating func family(_ name: String, type: MetricType, help: String) {
        precondition(Self.isValidMetricName(name), "invalid Prometheus metric name \(name)")
        precondition(type != .counter || name.hasSuffix("_total"), "counter \(name) must end in _total")
        append("# HELP ")
        append(name)
        bytes.append(0x20)
        appendEscaped(help, escapingQuotes: false)
        append("\n# TYPE ")
        append(name)
        bytes.append(0x20)
        HTTPASCII.append(type.text, to: &bytes)
        bytes.append(0x0A)
    }

    /// One sample line `name{labels} value`.
    public mutating func sample(_ name: String, labels: Labels = [], value: UInt64) {
        sampleStart(name, labels: labels)
        HTTPASCII.appendDecimal(value, to: &bytes)
        bytes.append(0x0A)
    }

    public mutating func sample(_ name: String, labels: Labels = [], value: Int) {
        sampleStart(name, labels: labels)
        HTTPASCII.appendDecimal(value, to: &bytes)
        bytes.append(0x0A)
    }

    /// One sample whose value is a duration in seconds, written exactly from nanoseconds.
    public mutating func sample(_ name: String, labels: Labels = [], nanosecondsAsSeconds ns: UInt64) {
        sampleStart(name, labels: labels)
        Self.appendSeconds(nanoseconds: ns, to: &bytes)
        bytes.append(0x0A)
    }

    /// A counter family with a single sample.
    public mutating func counter(_ name: String, help: String, value: UInt64, labels: Labels = []) {
        family(name, type: .counter, help: help)
        sample(name, labels: labels, value: value)
    }

    /// A gauge family with a single sample.
    public mutating func gauge(_ name: String, help: String, value: Int, labels: Labels = []) {
        family(name, type: .gauge, help: help)
        sample(name, labels: labels, value: value)
    }

    /// A histogram family: cumulative `name_bucket{le="..."}` lines up to `+Inf`, then
    /// `name_sum` in seconds and `name_count`. `name` is the base name, without `_seconds`
    /// added: give the unit in it (`paymentsd_journal_sync_seconds`).
    public mutating func histogram(_ name: String, help: String, _ h: LatencyHistogram, labels: Labels = []) {
        family(name, type: .histogram, help: help)
        let bucket = name + "_bucket"
        let cumulative = h.cumulativeCounts
        for (i, bound) in h.upperBoundsNanoseconds.enumerated() {
            var le: [UInt8] = []
            Self.appendSeconds(nanoseconds: bound, to: &le)
            sample(bucket, labels: labels + [("le", String(decoding: le, as: UTF8.self))], value: cumulative[i])
        }
        sample(bucket, labels: labels + [("le", "+Inf")], value: h.count)
        sample(name + "_sum", labels: labels, nanosecondsAsSeconds: h.sumNanoseconds)
        sample(name + "_count", labels: labels, value: h.count)
    }

    // MARK: Pieces

    private mutating func sampleStart(_ name: String, labels: Labels) {
        assert(Self.isValidMetricName(name), "invalid Prometheus metric name \(name)")
        append(name)
        if !labels.isEmpty {
            bytes.append(0x7B)  // {
            for (i, label) in labels.enumerated() {
                assert(Self.isValidLabelName(label.name), "invalid Prometheus label name \(label.name)")
                if i > 0 { bytes.append(0x2C) }
                append(label.name)
                append("=\"")
                appendEscaped(label.value, escapingQuotes: true)
                bytes.append(0x22)
            }
            bytes.append(0x7D)  // }
        }
        bytes.append(0x20)
    }

    private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// Label values escape `\`, `"` and newline; HELP text escapes `\` and newline only.
    private mutating func appendEscaped(_ s: String, escapingQuotes: Bool) {
        for c in s.utf8 {
            switch c {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x22 where escapingQuotes: bytes.append(0x5C); bytes.append(0x22)
            default: bytes.append(c)
            }
        }
    }

    /// Seconds as exact decimal text: 50_000 ns is `0.00005`, 1_000_000_000 ns is `1`,
    /// 1_500_000_000 ns is `1.5`. Trailing fraction zeros are dropped.
    public static func appendSeconds(nanoseconds ns: UInt64, to out: inout [UInt8]) {
        HTTPASCII.appendDecimal(ns / 1_000_000_000, to: &out)
        var fraction = ns % 1_000_000_000
        guard fraction > 0 else { return }
        var digits = 9
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        out.append(0x2E)  // "."
        var scratch: [UInt8] = []
        HTTPASCII.appendDecimal(fraction, to: &scratch)
        for _ in scratch.count..<digits { out.append(0x30) }
        out.append(contentsOf: scratch)
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidMetricName(_ name: String) -> Bool {
        isName(name, allowColon: true)
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, and not reserved (`__` prefix).
    public static func isValidLabelName(_ name: String) -> Bool {
        isName(name, allowColon: false) && !name.hasPrefix("__")
    }

    private static func isName(_ name: String, allowColon: Bool) -> Bool {
        var first = true
        for c in name.utf8 {
            let letter = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || (allowColon && c == 0x3A)
            let digit = c >= 0x30 && c <= 0x39
            guard letter || (digit && !first) else { return false }
            first = false
        }
        return !first
    }
}

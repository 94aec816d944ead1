// The metrics page: histogram counting, exact rendering, and a small checker of the text format
// applied to what we render.

@testable import PaymentsServer
import Testing

/// A minimal checker of the Prometheus text format (0.0.4): every sample line is
/// `name{labels} value`, every sample's family has a `# TYPE`, counters end in `_total`,
/// histogram buckets are cumulative and end with `+Inf` equal to `_count`.
enum PrometheusTextChecker {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: String
    }

    /// The samples of `text`, or the first problem found.
    static func check(_ text: String) -> Result<[Sample], CheckError> {
        var types: [String: String] = [:]
        var samples: [Sample] = []
        guard text.hasSuffix("\n") else { return .failure(CheckError("page does not end in a newline")) }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    return .failure(CheckError("bad TYPE line: \(line)"))
                }
                guard types[String(parts[2])] == nil else { return .failure(CheckError("TYPE twice: \(line)")) }
                types[String(parts[2])] = String(parts[3])
            } else if line.hasPrefix("#") {
                guard line.hasPrefix("# HELP ") || line.hasPrefix("# ") else { return .failure(CheckError("bad comment: \(line)")) }
            } else {
                guard let sample = parseSample(Substring(line)) else { return .failure(CheckError("bad sample line: \(line)")) }
                guard let type = types[family(of: sample.name, types)] else {
                    return .failure(CheckError("no TYPE for \(sample.name)"))
                }
                if type == "counter", !sample.name.hasSuffix("_total") {
                    return .failure(CheckError("counter without _total: \(sample.name)"))
                }
                samples.append(sample)
            }
        }
        return .success(samples)
    }

    struct CheckError: Error, Equatable, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    private static func family(of name: String, _ types: [String: String]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" { return base }
        }
        return name
    }

    /// `name{a="x",b="y"} value`, label values with `\\`, `\"`, `\n` escapes.
    static func parseSample(_ line: Substring) -> Sample? {
        var rest = line[...]
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard let first = name.first, !first.isNumber else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                guard !label.isEmpty, rest.dropFirst(label.count).hasPrefix("=\"") else { return nil }
                rest = rest.dropFirst(label.count + 2)
                var value = ""
                while let c = rest.first, c != "\"" {
                    rest = rest.dropFirst()
                    if c == "\\" {
                        guard let e = rest.first, "\\\"n".contains(e) else { return nil }
                        value.append(e == "n" ? "\n" : e)
                        rest = rest.dropFirst()
                    } else {
                        value.append(c)
                    }
                }
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                labels[String(label)] = value
                if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { return nil }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { return nil }
        let value = String(rest.dropFirst())
        let isNumber = value == "+Inf" || value == "-Inf" || value == "NaN"
            || (!value.isEmpty && value.allSatisfy { $0.isNumber || $0 == "." || $0 == "-" } && value.filter { $0 == "." }.count <= 1)
        return isNumber ? Sample(name: String(name), labels: labels, value: value) : nil
    }
}

@Suite struct HTTPPrometheusTests {
    @Test func histogramCountsIntoUpperInclusiveBuckets() {
        var h = LatencyHistogram()
        for ns: UInt64 in [0, 50_000, 50_001, 999_999, 1_000_000, 1_000_000_000, 1_000_000_001, 5_000_000_000] {
            h.observe(nanoseconds: ns)
        }
        #expect(h.count == 8)
        #expect(h.sumNanoseconds == 0 + 50_000 + 50_001 + 999_999 + 1_000_000 + 1_000_000_000 + 1_000_000_001 + 5_000_000_000)
        #expect(h.bucketCounts.count == LatencyHistogram.defaultUpperBoundsNanoseconds.count + 1)
        #expect(h.bucketCounts[0] == 2)  // 0 and exactly 50 µs
        #expect(h.bucketCounts[1] == 1)  // 50.001 µs
        #expect(h.bucketCounts[4] == 2)  // 999.999 µs and exactly 1 ms
        #expect(h.bucketCounts[13] == 1)  // exactly 1 s
        #expect(h.bucketCounts[14] == 2)  // over 1 s: +Inf only
        #expect(h.cumulativeCounts == [2, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 8])
    }

    @Test(arguments: [
        (UInt64(0), "0"), (50_000, "0.00005"), (1_000_000_000, "1"), (1_500_000_000, "1.5"),
        (2_500_000, "0.0025"), (1, "0.000000001"), (123_456_789_012, "123.456789012"),
        (UInt64.max, "18446744073.709551615"),
    ])
    func secondsFromNanosecondsAreExact(ns: UInt64, text: String) {
        var out: [UInt8] = []
        PrometheusText.appendSeconds(nanoseconds: ns, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == text)
    }

    @Test func histogramRendersExactly() {
        var h = LatencyHistogram(upperBoundsNanoseconds: [100_000, 1_000_000])
        h.observe(nanoseconds: 40_000)
        h.observe(nanoseconds: 600_000)
        h.observe(nanoseconds: 3_000_000)
        var page = PrometheusText()
        page.histogram("paymentsd_journal_sync_seconds", help: "Journal fdatasync latency.", h)
        #expect(page.text == """
            # HELP paymentsd_journal_sync_seconds Journal fdatasync latency.
            # TYPE paymentsd_journal_sync_seconds histogram
            paymentsd_journal_sync_seconds_bucket{le="0.0001"} 1
            paymentsd_journal_sync_seconds_bucket{le="0.001"} 2
            paymentsd_journal_sync_seconds_bucket{le="+Inf"} 3
            paymentsd_journal_sync_seconds_sum 0.00364
            paymentsd_journal_sync_seconds_count 3

            """)
    }

    @Test func countersGaugesAndLabelEscaping() {
        var page = PrometheusText()
        page.family("paymentsd_transactions_total", type: .counter, help: "Transactions by outcome.\nBack\\slash.")
        page.sample("paymentsd_transactions_total", labels: [("outcome", "applied")], value: UInt64(12))
        page.sample("paymentsd_transactions_total", labels: [("outcome", "re\"jec\\ted\n")], value: UInt64(3))
        page.gauge("paymentsd_open_connections", help: "Open connections.", value: -1, labels: [("protocol", "http"), ("x", "y")])
        #expect(page.text == """
            # HELP paymentsd_transactions_total Transactions by outcome.\\nBack\\\\slash.
            # TYPE paymentsd_transactions_total counter
            paymentsd_transactions_total{outcome="applied"} 12
            paymentsd_transactions_total{outcome="re\\"jec\\\\ted\\n"} 3
            # HELP paymentsd_open_connections Open connections.
            # TYPE paymentsd_open_connections gauge
            paymentsd_open_connections{protocol="http",x="y"} -1

            """)
    }

    @Test func renderedPagePassesTheChecker() throws {
        var h = LatencyHistogram()
        for i in 0..<1000 { h.observe(nanoseconds: UInt64(i) * 37_000) }
        var page = PrometheusText()
        page.family("paymentsd_transactions_total", type: .counter, help: "Transactions by outcome.")
        for (outcome, n) in [("applied", 5), ("rejected", 2), ("malformed", 1)] {
            page.sample("paymentsd_transactions_total", labels: [("outcome", outcome)], value: UInt64(n))
        }
        page.gauge("paymentsd_accounts", help: "Accounts.", value: 3)
        page.counter("paymentsd_journal_syncs_total", help: "Syncs.", value: 1000)
        page.histogram("paymentsd_journal_sync_seconds", help: "Sync latency.", h, labels: [("device", "a\"b")])
        page.gauge("paymentsd_uptime_seconds", help: "Uptime.", value: 42)
        let samples = try PrometheusTextChecker.check(page.text).get()
        #expect(samples.count == 3 + 1 + 1 + (15 + 2) + 1)
        let buckets = samples.filter { $0.name == "paymentsd_journal_sync_seconds_bucket" }
        #expect(buckets.last?.labels == ["device": "a\"b", "le": "+Inf"])
        #expect(buckets.last?.value == "1000")
        let counts = buckets.map { UInt64($0.value)! }
        #expect(counts == counts.sorted())  // cumulative
        #expect(samples.first { $0.name == "paymentsd_journal_sync_seconds_count" }?.value == "1000")
        #expect(samples.first { $0.name == "paymentsd_journal_sync_seconds_sum" }?.value == "18.4815")
    }

    @Test(arguments: [
        "x 1\n",  // no TYPE
        "# TYPE x gauge\nx{a=\"b} 1\n",
        "# TYPE x gauge\nx{a=b} 1\n",
        "# TYPE x gauge\nx one\n",
        "# TYPE x gauge\nx  1\n",
        "# TYPE x counter\nx 1\n",  // counter without _total
        "# TYPE x gauge\nx 1",  // no final newline
        "# TYPE x_total bogus\nx_total 1\n",
    ])
    func checkerRejectsBrokenPages(page: String) {
        if case .success = PrometheusTextChecker.check(page) { Issue.record("accepted a broken page: \(page)") }
    }

    @Test func namesAreValidated() {
        #expect(PrometheusText.isValidMetricName("paymentsd_journal:bytes"))
        #expect(!PrometheusText.isValidMetricName("9lives"))
        #expect(!PrometheusText.isValidMetricName("a-b"))
        #expect(!PrometheusText.isValidMetricName(""))
        #expect(PrometheusText.isValidLabelName("outcome"))
        #expect(!PrometheusText.isValidLabelName("__name__"))
        #expect(!PrometheusText.isValidLabelName("a:b"))
    }
}

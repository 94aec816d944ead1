// Issue 13, the pieces under the end-to-end tests: a lone word is a command attempt, a POST body
// of several lines is lines, and the process metrics read /proc/self.
import PaymentsFormat
@testable import PaymentsServer
import Testing

@Suite struct OperatorRequestTests {
    func parse(_ line: String) -> LineRequest {
        var copy = line
        return copy.withUTF8 { LineRequest.parse(UnsafeRawBufferPointer($0)) }
    }

    @Test func aLoneUnknownWordIsACommandAttempt() {
        #expect(parse("hello") == .unknownCommand("hello"))
        #expect(parse(" \tPIGN\r") == .unknownCommand("PIGN"))
        #expect(parse("h\u{7}llo") == .unknownCommand("h?llo"), "control bytes are not echoed")
        #expect(parse(String(repeating: "y", count: 40)) == .unknownCommand(String(repeating: "y", count: 32) + "..."))
        #expect(parse("ping") == .ping)
    }

    @Test func transactionsKeepTheirErrors() {
        #expect(parse("deposit") == .malformed(.missingField(.client)))
        #expect(parse("bogus line") == .malformed(.unknownType))
        #expect(parse("hello,1,2,3") == .malformed(.unknownType))
        #expect(parse("hello,") == .malformed(.unknownType))
        #expect(parse(#"{"type":"hello","client":1,"tx":1}"#) == .malformed(.unknownType))
        #expect(parse("") == .skip)
    }

    @Test func severalNonEmptyLines() {
        func several(_ s: String) -> Bool { HTTPRoutes.hasSeveralLines(Array(s.utf8)) }
        #expect(several("a\nb"))
        #expect(several("a\r\n\r\nb\r\n"))
        #expect(!several("a\n"))
        #expect(!several("\n \t\r\n a \n\n"))
        #expect(!several(""))
    }

    @Test func processMetricsFromProcSelf() {
        var page = PrometheusText()
        ProcessMetrics.append(to: &page)
        for name in ["process_start_time_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_open_fds", "process_max_fds"] {
            #expect(page.text.contains("\n# TYPE \(name) ") || page.text.hasPrefix("# HELP \(name) "), "\(name)")
            #expect(page.text.contains("\n\(name) "), "\(name) has no sample")
        }
        #expect(ProcessMetrics.field(named: "VmRSS:", in: Array("Name:\tx\nVmRSS:\t  1234 kB\n".utf8)) == 1234)
        #expect(UInt64(ascii: Array("18446744073709551615".utf8)) == nil, "more than 19 digits is refused, not overflowed")
    }
}

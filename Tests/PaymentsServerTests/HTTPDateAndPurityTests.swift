// The Date header from integers, and the HTTP layer's purity: no Foundation, no floating point.

import Foundation
@testable import PaymentsServer
import Testing

@Suite struct HTTPDateAndPurityTests {
    @Test(arguments: [
        (Int64(0), "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),  // RFC 9110's example
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (1_795_632_304, "Wed, 25 Nov 2026 18:45:04 GMT"),
        (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 GMT"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
    ])
    func imfFixdate(seconds: Int64, text: String) {
        #expect(String(decoding: HTTPDate.headerLine(secondsSinceEpoch: seconds), as: UTF8.self) == "Date: \(text)\r\n")
    }

    @Test func agreesWithFoundationOverManyDays() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var t: Int64 = 0
        while t < 4_102_444_800 {
            var out: [UInt8] = []
            HTTPDate.appendIMFFixdate(secondsSinceEpoch: t, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t))))
            t += 86_400 * 37 + 3_671
        }
    }

    /// The HTTP sources stay on the stdlib and never touch binary floating point (SPEC §1).
    @Test func httpSourcesImportNoFoundationAndUseNoFloatingPoint() throws {
        let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let httpDir = testsDir.appendingPathComponent("../../Sources/PaymentsServer/HTTP").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: httpDir.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count >= 10)
        for file in files {
            let text = try String(contentsOf: httpDir.appendingPathComponent(file), encoding: .utf8)
            for forbidden in ["import Foundation", "Double", "Float", "import Glibc"] {
                #expect(!text.contains(forbidden), "\(file) contains \(forbidden)")
            }
        }
    }
}

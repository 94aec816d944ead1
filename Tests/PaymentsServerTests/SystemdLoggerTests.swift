import Foundation
import Testing
import PaymentsServer

/// The log format journald relies on: every line, of every message, carries its priority.
@Suite struct SystemdLoggerTests {
    @Test func journaldPrefixOnEveryLineOfAMessage() {
        let log = Logger(threshold: .debug, journald: true)
        #expect(log.format(.error, "cannot open journal") == "<3>cannot open journal\n")
        #expect(log.format(.warning, "torn tail\ncut 12 bytes") == "<4>torn tail\n<4>cut 12 bytes\n")
        #expect(log.format(.info, "a\r\nb") == "<6>a\n<6>b\n")
        #expect(log.format(.debug, "x") == "<7>x\n")
    }

    @Test func plainLinesCarryATimestampAndTheLevel() {
        let log = Logger(threshold: .info, journald: false)
        let text = log.format(.warning, "one\ntwo")
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        for line in lines {
            #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warning "#, options: .regularExpression) != nil)
        }
    }
}

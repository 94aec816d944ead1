// paymentsd: the long-running daemon (§5, §7). See `paymentsd --help`.
import PaymentsFormat
import PaymentsJournal
import PaymentsPlatform
import PaymentsReplication
import PaymentsServer

// The process's start as /metrics reports it (process_start_time_seconds): read first thing.
_ = ProcessMetrics.startWallClock

func say(_ fd: FileDescriptor, _ text: String) { try? fd.writeAll(Array(text.utf8)) }

/// An error before the logger exists; under journald (`$JOURNAL_STREAM`) each line still
/// carries its priority, `<3>`, like every other line the daemon writes there.
func complain(_ text: String) {
    guard Environment.get("JOURNAL_STREAM") != nil else { return say(.standardError, text) }
    say(.standardError, text.split(separator: "\n").map { "<3>\($0)\n" }.joined())
}

switch Arguments.parse(Array(CommandLine.arguments.dropFirst())) {
case .help:
    say(.standardOutput, Arguments.usage)
case .version:
    say(.standardOutput, PaymentsVersion.line("paymentsd"))
case .usageError(let message):
    complain("paymentsd: \(message)\n(paymentsd --help lists the options)\n")
    Environment.exit(2)
case .verify(let directory):
    let dir = directory ?? Environment.get("STATE_DIRECTORY") ?? DaemonConfiguration.defaultDataDirectory
    let result = Journal.verify(directory: dir)
    if result.exitStatus == 0 { say(.standardOutput, "\(dir): \(result)\n") } else { complain("\(dir): \(result)\n") }
    Environment.exit(Int32(result.exitStatus))
case .verifyLedger(let uri, let ledger):
    let (status, report) = PostgresVerify.run(conninfo: uri, ledger: ledger)
    if status == 0 { say(.standardOutput, report + "\n") } else { complain("paymentsd verify: \(report)\n") }
    Environment.exit(status)
case .serve(let configuration):
    Environment.exit(Daemon(configuration: configuration).run())
}

// paymentsd: the long-running daemon (§5, §7). See `paymentsd --help`.
import PaymentsJournal
import PaymentsPlatform
import PaymentsServer

func say(_ fd: FileDescriptor, _ text: String) { try? fd.writeAll(Array(text.utf8)) }

switch Arguments.parse(Array(CommandLine.arguments.dropFirst())) {
case .help:
    say(.standardOutput, Arguments.usage)
case .usageError(let message):
    say(.standardError, "paymentsd: \(message)\n(paymentsd --help lists the options)\n")
    Environment.exit(2)
case .verify(let directory):
    let dir = directory ?? Environment.get("STATE_DIRECTORY") ?? DaemonConfiguration.defaultDataDirectory
    let result = Journal.verify(directory: dir)
    say(result.exitStatus == 0 ? .standardOutput : .standardError, "\(dir): \(result)\n")
    Environment.exit(Int32(result.exitStatus))
case .serve(let configuration):
    Environment.exit(Daemon(configuration: configuration).run())
}

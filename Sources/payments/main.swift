// payments: the batch program (§4). `payments transactions.csv > accounts.csv`.
import PaymentsFormat
import PaymentsPlatform

func fail(_ message: String, status: Int32) -> Never {
    var err = BufferedOutput(.standardError)
    try? err.write("payments: \(message)\n")
    try? err.flush()
    Environment.exit(status)
}

switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case .help:
    var out = BufferedOutput(.standardOutput)
    try? out.write(Options.usage)
    try? out.flush()
case .version:
    var out = BufferedOutput(.standardOutput)
    try? out.write(PaymentsVersion.line("payments"))
    try? out.flush()
case .usageError(let message):
    fail("\(message)\n\(Options.usage)", status: 2)
case .run(let options):
    var run = BatchRun(options: options)
    for path in options.inputs {
        do throws(SystemError) {
            try run.consume(path)
        } catch {
            fail("cannot read \(path == "-" ? "standard input" : path): \(error.message)", status: 1)
        }
    }
    do throws(SystemError) { try run.finish() } catch { fail("\(error)", status: 1) }
}

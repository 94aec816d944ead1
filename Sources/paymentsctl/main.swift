import PaymentsPlatform

// paymentsctl: the companion client of paymentsd (SPEC §6). Thin: parse, connect, run one command.

let invocation: Invocation
do {
    invocation = try parseArguments(Array(CommandLine.arguments.dropFirst()), environment: Environment.get("PAYMENTSD_SOCKET"))
} catch {
    warn("\(error)")
    warn("try 'paymentsctl --help'")
    Environment.exit(ExitStatus.usage)
}

switch invocation.command {
case .help:
    standardOutput.write(usageText)
    standardOutput.flush()
    Environment.exit(ExitStatus.success)
case .send(let files, let verbose):
    Environment.exit(SendCommand(files: files, verbose: verbose, target: invocation.target).run())
default:
    Environment.exit(QueryCommands.run(invocation.command, target: invocation.target))
}

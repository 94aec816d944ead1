import PaymentsPlatform

// paymentsctl: the companion client of paymentsd (SPEC §6). Thin: parse, pick the daemon
// (SPEC §8: writes to the leader, queries to the first that answers), run one command.

let invocation: Invocation
do {
    invocation = try parseArguments(Array(CommandLine.arguments.dropFirst()), environment: Environment.get("PAYMENTSD_SOCKET"))
} catch {
    warn("\(error)")
    warn("try 'paymentsctl --help'")
    Environment.exit(ExitStatus.usage)
}

switch invocation.command {
case .help, .version, .hashToken: break
default: ClientSecurity.current = ClientSecurity.load(invocation.security, environmentToken: Environment.get("PAYMENTSD_TOKEN"))
}

switch invocation.command {
case .help, .version:
    standardOutput.write(invocation.command == .help ? usageText : Version.text + "\n")
    standardOutput.flush()
    Environment.exit(ExitStatus.success)
case .send(let files, let verbose):
    let send = SendCommand(files: files, verbose: verbose)
    send.openInputs()
    Environment.exit(send.run(on: DaemonRouting.leader(invocation.targets)))
case .session:
    let interactive = FileDescriptor.standardInput.isTerminal
    Environment.exit(
        interactive ? InteractivePrompt.run(targets: invocation.targets)
            : RequestSession.runStandardInput(targets: invocation.targets))
case .follow(let from, let lsnFile):
    Environment.exit(FollowCommand(targets: invocation.targets, from: from, lsnFile: lsnFile).run())
case .mirror(let url):
    Environment.exit(MirrorCommand(targets: invocation.targets, url: url).run())
case .latency:
    Environment.exit(LatencyCommand(invocation).run())
case .hashToken(let role, let name):
    Environment.exit(HashTokenCommand.run(role: role, name: name))
default:
    Environment.exit(QueryCommands.repeating(invocation))
}

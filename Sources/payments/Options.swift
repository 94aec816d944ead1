/// The command line of `payments` (§4), parsed by hand.
struct Options {
    var json = false
    var verbose = false
    var inputs: [String] = []

    static let usage = """
        usage: payments [--json] [--verbose] [FILE ...]
               payments --version

        Applies the transactions in each FILE, in order (standard input when no FILE is given,
        or for -), and writes every account to standard output as CSV (JSON lines with --json).
        A summary goes to standard error; --verbose adds one line per rejected or malformed line.
        Exit status: 0 after a complete run, 1 when an input cannot be read, 2 on a usage error.

        """

    enum Parsed {
        case run(Options)
        case help
        case version
        case usageError(String)
    }

    static func parse(_ arguments: [String]) -> Parsed {
        var options = Options()
        var onlyFiles = false
        for argument in arguments {
            if onlyFiles || argument == "-" || !argument.hasPrefix("-") {
                options.inputs.append(argument)
                continue
            }
            switch argument {
            case "--": onlyFiles = true
            case "--json": options.json = true
            case "--verbose", "-v": options.verbose = true
            case "--help", "-h": return .help
            case "--version": return .version
            default: return .usageError("unknown option \(argument)")
            }
        }
        if options.inputs.isEmpty { options.inputs = ["-"] }
        return .run(options)
    }
}

/// The text of `paymentsctl --help`.
let usageText = """
Usage: paymentsctl [--unix PATH | --tcp HOST:PORT] COMMAND [ARGS]

Talks to a running paymentsd over its line protocol.

Commands:
  send [--verbose] [FILE ...]  pipeline the lines of FILEs (standard input when none, or for -),
                               wait for every reply, print "applied N, rejected N, malformed N";
                               --verbose also prints each non-OK reply with its file and line
  get CLIENT [--json]          one account (CSV row, or a JSON object)
  dump [--json]                every account: the accounts CSV (or JSON lines)
  tx ID                        one transaction: type,client,tx,amount,state
  history CLIENT               a client's transactions in order
  stats                        the daemon's counters
  ping                         check that the daemon answers
  sync                         wait until everything sent so far is on stable storage

Options:
  --unix PATH       the daemon's Unix socket
  --tcp HOST:PORT   the daemon's TCP address ([::1]:7300 for IPv6)
  -h, --help        this text
Without --unix or --tcp: $PAYMENTSD_SOCKET (a socket path, or HOST:PORT), else ./paymentsd.sock.

Exit status: 0 success; 1 an error (no daemon, an ERR reply, a file that cannot be read);
2 a usage error; 3 the connection was lost before every line sent was acknowledged.

"""

/// Exit statuses, as the usage text promises.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let unacknowledged: Int32 = 3
}

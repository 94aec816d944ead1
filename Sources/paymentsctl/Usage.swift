/// The text of `paymentsctl --help`.
let usageText = """
Usage: paymentsctl [--unix PATH | --tcp HOST:PORT]... COMMAND [ARGS]

Talks to a running paymentsd over its line protocol. Given several daemons (a leader and its
standbys), send and sync go to the leader: the first, in the order given, whose STATS says
role=leader (or has no role: a daemon without replication); the other commands go to the
first that accepts a connection.

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
  --unix PATH       a daemon's Unix socket
  --tcp HOST:PORT   a daemon's TCP address ([::1]:7300 for IPv6)
                    both may be repeated and mixed; the daemons are tried in the order given
  -h, --help        this text
Without --unix or --tcp: $PAYMENTSD_SOCKET, a comma-separated list of addresses (each a
socket path, HOST:PORT, tcp:HOST:PORT or unix:PATH), else ./paymentsd.sock.

Exit status: 0 success; 1 an error (no daemon, no leader, an ERR reply, a file that cannot be
read); 2 a usage error; 3 not every line sent was acknowledged: the connection was lost, or the
daemon did not take some lines (a standby: "ERR standby: leader is NAME"; a daemon that cannot
write its journal) and they may be sent again.

"""

/// Exit statuses, as the usage text promises.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let unacknowledged: Int32 = 3
}

/// The text of `paymentsctl --help`.
let usageText = """
Usage: paymentsctl [--unix PATH | --tcp HOST:PORT]... [-r N] [-i SECONDS] COMMAND [ARGS]
       paymentsctl [--unix PATH | --tcp HOST:PORT]...          (a prompt, or requests on stdin)
       paymentsctl [--unix PATH | --tcp HOST:PORT]... --latency [-r N] [-i SECONDS]

Talks to a running paymentsd over its line protocol. Given several daemons (a leader and its
standbys), send, sync and transactions go to the leader: the first, in the order given, whose
STATS says role=leader (or has no role: a daemon without replication); the other commands go
to the first that accepts a connection. Command words are case-insensitive (PING = ping).

Commands:
  send [--verbose] [FILE ...]  pipeline the lines of FILEs (standard input when none, or for -),
                               wait for every reply, print "applied N, rejected N, malformed N";
                               --verbose also prints each non-OK reply with its file and line
  get CLIENT [--json]          one account (CSV row, or a JSON object)
  dump [--json]                every account: the accounts CSV (or JSON lines)
  tx ID                        one transaction: type,client,tx,amount,state
  history CLIENT [--json]      a client's transactions in order (--json: one object per line)
  stats [--json]               the daemon's counters (--json: one object, numbers as numbers)
  ping                         check that the daemon answers
  sync                         wait until everything sent so far is on stable storage
  TRANSACTION                  one transaction line given raw (deposit,1,7,2.5): prints OK, or
                               REJECTED <reason> and exits 1
  hash-token ROLE NAME         print the --auth-file line (ROLE NAME SHA256HEX) for the token
                               read from standard input; ROLE is read, write or admin
  follow [--from LSN|snapshot] [--lsn-file FILE]
                               print the change stream (one JSON line per transaction) until
                               SIGINT/SIGTERM; --lsn-file records the last LSN printed and a
                               restart resumes after it; reconnects when the daemon goes away
  mirror redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
                               keep every account in Redis (hash account:<client>) and
                               payments:lsn, one MULTI/EXEC per batch; resumes from payments:lsn,
                               rebuilds from a snapshot when Redis lost its data
  help                         this text

With no command: on a terminal, an interactive prompt named after the daemon (d.sock> ,
127.0.0.1:7300> ) that takes every protocol request (help lists them; exit, QUIT or Ctrl-D
leaves); otherwise each line of standard input is a request (echo 'GET 3' | paymentsctl),
sent one at a time, its reply printed exactly as the daemon sends it.

Options:
  --unix PATH       a daemon's Unix socket
  --tcp HOST:PORT   a daemon's TCP address ([::1]:7300 for IPv6)
                    both may be repeated and mixed; the daemons are tried in the order given
  -r N              run the command N times (-1: until interrupted), a new connection each time
  -i SECONDS        wait this long between runs (0.1 for a tenth of a second)
  --latency         time PING round trips on one connection until Ctrl-C (or -r N samples, one
                    every -i SECONDS, default 0.01), then print min, avg and max in ms
  --tls             TLS to TCP daemons (§9); the certificate is checked against the system's
                    CAs and must name the address given (or --tls-server-name)
  --cacert FILE     trust the CA certificates in FILE instead (implies --tls)
  --cert FILE       a client certificate (PEM), for daemons with --tls-client-ca (implies --tls)
  --key FILE        its private key (default: in the --cert file)
  --tls-server-name NAME   the name the daemon's certificate must carry (default: the address)
  --token-file FILE send the token on the first line of FILE (AUTH) on every connection;
                    without it, $PAYMENTSD_TOKEN if set
  --version         the version
  -h, --help        this text
Without --unix or --tcp: $PAYMENTSD_SOCKET, a comma-separated list of addresses (each a
socket path, HOST:PORT, tcp:HOST:PORT or unix:PATH), else ./paymentsd.sock.

Every reply is checked against what the request gets: a reply that is not paymentsd's line
protocol (an HTTP port given by mistake) and a refusal at the daemon's connection limit are
errors, never a success.

Exit status: 0 success; 1 an error (no daemon, no leader, not paymentsd, a refusal at the
connection limit, an ERR reply, a REJECTED transaction, a file that cannot be read); 2 a usage
error; 3 not every line sent (by send, or on standard input) was acknowledged: the connection
was lost, send was refused at the connection limit, or the daemon did not take some lines (a
standby: "ERR standby: leader is NAME"; a daemon that cannot write its journal) and they may
be sent again. 4 (follow) standard output was closed; the LSN file holds the last line written.

"""

/// Exit statuses, as the usage text promises.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let unacknowledged: Int32 = 3
    /// `follow`: standard output was closed (the reader went away); the LSN file holds the
    /// last line written.
    static let outputClosed: Int32 = 4
}

import Foundation
import Glibc
import PaymentsCore
import PaymentsFormat
import PaymentsPlatform
import Testing

/// `paymentsctl` (SPEC §6) against a live and a stopped daemon, the same input through the
/// batch program and the daemon, and the everyday pipes (`nc -U -N`, `socat`).
extension DaemonEndToEnd {
    @Suite struct PaymentsctlTests {
        /// The batch program's accounts for `file`, as lines.
        static func batchAccounts(_ file: String, in scratch: DaemonScratch) throws -> [String] {
            let run = try DaemonRun.run(DaemonBinaries.payments, [file], in: scratch)
            #expect(run.status == 0, "\(run.stderr)")
            return run.stdout.split(separator: "\n").map(String.init)
        }

        /// Replies expected for the lines of `text`: one per line that is not blank or a header.
        static func answeredLines(_ text: String) -> Int {
            // Bytes, not Characters: "\r\n" is one Character in Swift.
            text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).filter { raw in
                let line = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \t\r"))
                if line.isEmpty { return false }
                let header = line.lowercased().filter { $0 != " " && $0 != "\t" }
                return header != "type,client,tx,amount"
            }.count
        }

        /// Every fixture, sent over a socket with a half-close, gives the DUMP that `payments`
        /// prints for it.
        @Test func fixturesThroughDaemonEqualBatch() throws {
            let scratch = DaemonScratch()
            #expect(DaemonBinaries.fixtureInputs.count > 20)
            for (i, fixture) in DaemonBinaries.fixtureInputs.enumerated() {
                let daemon = try DaemonProcess(
                    dataDirectory: scratch.file("data\(i)"), socketPath: scratch.file("f\(i).sock"))
                let client = try DaemonClient(i % 2 == 0 ? daemon.unixAddress : daemon.tcpAddress)
                let text = try String(contentsOf: fixture, encoding: .utf8)
                try client.send(text)
                try client.shutdownWrite()
                let replies = try client.readToEnd().split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                #expect(replies.count == Self.answeredLines(text), "\(fixture.lastPathComponent): \(replies.prefix(20))")
                let dump = try DaemonClient(daemon.unixAddress).askBlock("DUMP")
                #expect(dump == (try Self.batchAccounts(fixture.path, in: scratch)), "\(fixture.lastPathComponent)")
                #expect(daemon.terminate() == 0)
            }
        }

        /// A generated stream through `paymentsctl send` and through `payments`: same accounts,
        /// and the summary counts what the engine did.
        @Test func generatedStreamThroughPaymentsctlEqualsBatch() throws {
            let scratch = DaemonScratch()
            let lines = DaemonStream.generate(count: 30_000, seed: 42, clients: 1...2_000)
            let file = scratch.write("stream.csv", "type,client,tx,amount\n" + lines.joined(separator: "\n") + "\n")
            let daemon = try DaemonProcess(in: scratch)
            let send = try DaemonRun.run(DaemonBinaries.paymentsctl, ["--unix", daemon.socketPath, "send", file], in: scratch)
            let reference = DaemonReference()
            var applied = 0, rejected = 0, malformed = 0
            for line in lines {
                switch reference.apply(line) {
                case .applied?: applied += 1
                case .rejected?: rejected += 1
                case nil: malformed += 1
                }
            }
            #expect(send.status == 0, "\(send.stderr)")
            #expect(send.stdout == "applied \(applied), rejected \(rejected), malformed \(malformed)\n")
            let dump = try DaemonClient(daemon.unixAddress).askBlock("DUMP")
            #expect(dump == reference.dump)
            #expect(dump == (try Self.batchAccounts(file, in: scratch)))
        }

        /// Every command against a live daemon, over the Unix socket, TCP and $PAYMENTSD_SOCKET.
        @Test func commandsAgainstALiveDaemon() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            func ctl(_ args: [String], stdin: String? = nil, environment: [String: String]? = nil) throws -> DaemonRun {
                try DaemonRun.run(DaemonBinaries.paymentsctl, args, stdin: stdin, environment: environment, in: scratch)
            }
            let unix = ["--unix", daemon.socketPath]
            let input = scratch.write("in.csv", """
                type,client,tx,amount
                deposit,1,1,10
                deposit,2,2,5.5

                withdrawal,1,3,20
                dispute,2,2
                bogus line
                {"type":"deposit","client":3,"tx":4,"amount":1.25}
                deposit,1,1,1
                """)  // no final newline
            let send = try ctl(unix + ["send", "--verbose", input])
            #expect(send.status == 0, "\(send.stderr)")
            #expect(send.stdout == """
                \(input):5: REJECTED insufficient funds
                \(input):7: ERR unknown transaction type
                \(input):9: REJECTED duplicate
                applied 4, rejected 2, malformed 1

                """)
            let more = scratch.write("more.csv", "deposit,4,10,1\nresolve,2,2\n")
            let fromStdin = try ctl(unix + ["send"], stdin: more)
            #expect(fromStdin.status == 0)
            #expect(fromStdin.stdout == "applied 2, rejected 0, malformed 0\n")

            let expectedDump = """
                client,available,held,total,locked
                1,10.0000,0.0000,10.0000,false
                2,5.5000,0.0000,5.5000,false
                3,1.2500,0.0000,1.2500,false
                4,1.0000,0.0000,1.0000,false

                """
            let dump = try ctl(unix + ["dump"])
            #expect(dump.status == 0)
            #expect(dump.stdout == expectedDump)
            #expect(try DaemonClient(daemon.unixAddress).askBlock("DUMP").joined(separator: "\n") + "\n" == dump.stdout)
            #expect(try ctl(unix + ["dump", "--json"]).stdout.split(separator: "\n").count == 4)
            #expect(try ctl(unix + ["get", "2"]).stdout == "2,5.5000,0.0000,5.5000,false\n")
            #expect(try ctl(unix + ["get", "3", "--json"]).stdout
                == #"{"client":3,"available":"1.2500","held":"0.0000","total":"1.2500","locked":false}"# + "\n")
            #expect(try ctl(unix + ["tx", "2"]).stdout == "deposit,2,2,5.5000,resolved\n")
            #expect(try ctl(unix + ["history", "1"]).stdout == """
                deposit,1,1,10.0000,ok
                withdrawal,1,3,20.0000,rejected: insufficient funds
                deposit,1,1,1.0000,rejected: duplicate

                """)
            let stats = try ctl(unix + ["stats"])
            #expect(stats.status == 0)
            let pairs = daemonStats(stats.stdout.trimmingCharacters(in: .newlines))
            for key in ["applied", "rejected", "malformed", "clients", "connections", "journal_bytes", "uptime_s"] {
                #expect(pairs[key] != nil, "stats lacks \(key): \(stats.stdout)")
            }
            #expect(pairs["applied"] == "6" && pairs["clients"] == "4", "\(stats.stdout)")
            #expect(try ctl(unix + ["ping"]).stdout == "PONG\n")
            #expect(try ctl(unix + ["sync"]).stdout == "OK\n")
            #expect(try ctl(["--tcp", "127.0.0.1:\(daemon.tcpPort)", "ping"]).stdout == "PONG\n")
            #expect(try ctl(["ping"], environment: ["PAYMENTSD_SOCKET": daemon.socketPath]).stdout == "PONG\n")
            #expect(try ctl(["get", "1"], environment: ["PAYMENTSD_SOCKET": "127.0.0.1:\(daemon.tcpPort)"]).stdout
                == "1,10.0000,0.0000,10.0000,false\n")

            // An ERR reply is an error: one line on standard error, nothing on standard output.
            for args in [["get", "99"], ["tx", "77"]] {
                let r = try ctl(unix + args)
                #expect(r.status == 1 && r.stdout.isEmpty, "\(args): \(r.stdout)")
                #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
            }
            // Usage errors: status 2.
            #expect(try ctl(unix + ["get", "x"]).status == 2)
            #expect(try ctl(unix + ["frobnicate"]).status == 2)
            #expect(daemon.terminate() == 0)
        }

        /// Against a stopped daemon every command fails with one clear line and a non-zero status.
        @Test func commandsAgainstAStoppedDaemon() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let port = daemon.tcpPort
            #expect(daemon.terminate() == 0)
            let file = scratch.write("in.csv", "deposit,1,1,1\n")
            let commands: [[String]] = [["send", file], ["get", "1"], ["dump"], ["tx", "1"], ["history", "1"], ["stats"], ["ping"], ["sync"]]
            for target in [["--unix", daemon.socketPath], ["--tcp", "127.0.0.1:\(port)"]] {
                for command in commands {
                    let r = try DaemonRun.run(DaemonBinaries.paymentsctl, target + command, in: scratch)
                    #expect(r.status != 0, "\(command)")
                    #expect(r.stdout.isEmpty, "\(command): \(r.stdout)")
                    let lines = r.stderr.split(separator: "\n")
                    #expect(lines.count == 1, "\(target) \(command): \(r.stderr)")
                    #expect(r.stderr.contains("running") || r.stderr.contains("refused"), "\(command): \(r.stderr)")
                }
            }
        }

        /// `send` when the daemon dies under it: the summary of what was answered, one line
        /// naming the unacknowledged lines, exit status 3; what it counted as applied is there
        /// after a restart.
        @Test func sendWhenTheDaemonDies() throws {
            let scratch = DaemonScratch()
            let lines = (1...400_000).map { "deposit,\($0 % 1_000 + 1),\($0),1" }
            let file = scratch.write("big.csv", lines.joined(separator: "\n") + "\n")
            var daemon = try DaemonProcess(in: scratch)
            let pid = daemon.pid
            let killer = DaemonBackground {
                // Kill once the daemon has taken some of the stream.
                for _ in 0..<2_000 {
                    if let c = try? DaemonClient(.unix(path: scratch.file("d.sock"))),
                       let s = try? c.ask("STATS"), Int(daemonStats(s)["applied"] ?? "0") ?? 0 >= 20_000 { break }
                    usleep(2_000)
                }
                kill(pid, SIGKILL)
            }
            let send = try DaemonRun.run(DaemonBinaries.paymentsctl, ["--unix", daemon.socketPath, "send", file], in: scratch)
            try killer.wait()
            daemon.crash()
            #expect(send.status == 3, "\(send.stdout)\(send.stderr)")
            #expect(send.stderr.split(separator: "\n").count == 1, "\(send.stderr)")
            #expect(send.stderr.contains("not acknowledged"), "\(send.stderr)")
            let summary = send.stdout.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(summary.count == 3 && summary[1] == 0 && summary[2] == 0, "\(send.stdout)")
            let applied = summary.first ?? 0
            #expect(applied < lines.count)
            daemon = try DaemonProcess(in: scratch)
            let recovered = Int(daemonStats(try DaemonClient(daemon.unixAddress).ask("STATS"))["applied"] ?? "") ?? -1
            #expect(recovered >= applied, "recovered \(recovered), paymentsctl saw \(applied) acknowledged")
        }

        /// `send` against a server that reads every line but answers only some before it closes:
        /// the lines left without a reply are not acknowledged (exit 3, one line naming how
        /// many), although all input was sent. Over a Unix socket and TCP.
        @Test func sendWhenTheServerAnswersPartAndCloses() throws {
            let scratch = DaemonScratch()
            let lines = (1...10).map { "deposit,1,\($0),1" }
            let file = scratch.write("in.csv", "type,client,tx,amount\n" + lines.joined(separator: "\n") + "\n")
            for (i, address) in [SocketAddress.unix(path: scratch.file("part.sock")), try .hostPort("127.0.0.1:0")].enumerated() {
                let server = try FailoverFakeDaemon(address, answer: .okToFirst(4))
                defer { server.stop() }
                let target = i == 0 ? ["--unix", server.path] : ["--tcp", server.path]
                let send = try FailoverRun.paymentsctl(target + ["send", file], socketEnvironment: nil, in: scratch)
                #expect(send.status == 3, "\(target): \(send.stdout)\(send.stderr)")
                #expect(send.stdout == "applied 4, rejected 0, malformed 0\n", "\(target)")
                #expect(send.stderr.split(separator: "\n").count == 1, "\(target): \(send.stderr)")
                #expect(send.stderr.contains("6 line(s) sent were not acknowledged"), "\(target): \(send.stderr)")
                #expect(server.lines == lines, "\(target): the server did not read every line")
            }
        }

        /// The pipes a user types: `nc -U -N`, `nc -N` over TCP, and `socat`.
        @Test func pipingAFixtureThroughNetcatAndSocat() throws {
            for tool in ["nc", "socat"] {
                try #require(DaemonRun.toolExists(tool), "\(tool) is not installed (.ci/run installs netcat-openbsd and socat)")
            }
            let scratch = DaemonScratch()
            let fixture = DaemonBinaries.fixtures.appendingPathComponent("seed_chungus.csv").path
            let text = try String(contentsOfFile: fixture, encoding: .utf8)
            let expected = try Self.batchAccounts(fixture, in: scratch)
            let commands = [
                "nc -U -N %UNIX < %FILE",
                "nc -N 127.0.0.1 %PORT < %FILE",
                "socat -t 30 - UNIX-CONNECT:%UNIX < %FILE",
            ]
            for (i, template) in commands.enumerated() {
                let daemon = try DaemonProcess(dataDirectory: scratch.file("data\(i)"), socketPath: scratch.file("p\(i).sock"))
                let command = template.replacingOccurrences(of: "%UNIX", with: daemon.socketPath)
                    .replacingOccurrences(of: "%PORT", with: "\(daemon.tcpPort)").replacingOccurrences(of: "%FILE", with: fixture)
                let run = try DaemonRun.shell(command, in: scratch)
                #expect(run.status == 0, "\(command): \(run.stderr)")
                let replies = run.stdout.split(separator: "\n")
                #expect(replies.count == Self.answeredLines(text), "\(command)")
                #expect(replies.allSatisfy { $0 == "OK" || $0.hasPrefix("REJECTED ") || $0.hasPrefix("ERR ") }, "\(command)")
                #expect(try DaemonClient(daemon.unixAddress).askBlock("DUMP") == expected, "\(command)")
                let dumpByNC = try DaemonRun.shell("echo DUMP | nc -U -N \(daemon.socketPath)", in: scratch)
                #expect(dumpByNC.stdout == expected.joined(separator: "\n") + "\n\n")
                #expect(daemon.terminate() == 0)
            }
        }
    }
}

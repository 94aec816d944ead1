import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPlatform
import PaymentsRedis
import Testing

/// `paymentsctl follow` and `paymentsctl mirror` (SPEC §10) as users run them: real daemons,
/// a real `redis-server`, real signals, while transactions stream in.
extension DaemonEndToEnd {
    @Suite struct FollowTests {
        /// Starts `paymentsctl ARGS` with its output appended to `stdout` (so that restarts add up).
        func paymentsctl(_ arguments: [String], stdout: String, stderr: String) throws -> ChildProcess {
            try ChildProcess(DaemonBinaries.paymentsctl.path, arguments, stdoutPath: stdout, stderrPath: stderr)
        }

        /// Waits until the follower printed `last`, then checks its lines against the daemon's own
        /// stream (`FOLLOW 0`): every one there, in order, the same text.
        func expectComplete(_ out: String, daemon: DaemonProcess, allowRepeats: Int, _ log: String, follower: ChildProcess) throws {
            let last = try daemonLastLSN(daemon.unixAddress)
            try followWait(60, "the follower to print LSN \(last)") {
                if !follower.isRunning {
                    let errors = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                    throw DaemonTestError("follow exited with \(follower.terminationStatus) before LSN \(last):\n\(errors.suffix(1500))")
                }
                return FollowOutput(path: out).lsns.last == last
            }
            let output = FollowOutput(path: out)
            let (gaps, repeats) = output.breaks()
            let errors = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(gaps.isEmpty, "gaps in the follower's output: \(gaps.prefix(5)); its log:\n\(errors.suffix(1500))")
            #expect(repeats <= allowRepeats, "\(repeats) lines printed again (at most \(allowRepeats) allowed)")
            #expect(output.lsns.first == 1)
            var seen: [UInt64: String] = [:]
            for (lsn, line) in zip(output.lsns, output.lines) { seen[lsn] = line }
            let reference = try daemonStreamLines(daemon.unixAddress, through: last)
            #expect(seen.count == reference.count)
            for (index, line) in reference.enumerated() where seen[UInt64(index + 1)] != line {
                Issue.record("LSN \(index + 1): the follower printed \(seen[UInt64(index + 1)] ?? "nothing"), the daemon streams \(line)")
                break
            }
        }

        /// SIGTERM (and SIGINT) at random moments while transactions stream in, restarted with
        /// the same --lsn-file each time: the lines printed across all lives are the stream,
        /// each exactly once.
        @Test func stoppedAndRestartedResumesExactlyAfterTheLastLine() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let out = scratch.file("follow.out"), log = scratch.file("follow.log"), lsnFile = scratch.file("lsn")
            let feeder = FollowFeeder({ .unix(path: scratch.file("d.sock")) }, lines: DaemonStream.generate(count: 4000, seed: 11), chunk: 20, pauseMicroseconds: 12_000)
            for round in 0..<6 {
                let follower = try paymentsctl(["--unix", daemon.socketPath, "follow", "--from", "0", "--lsn-file", lsnFile], stdout: out, stderr: log)
                usleep(UInt32.random(in: 50_000...400_000))
                follower.signal(round % 2 == 0 ? SIGTERM : SIGINT)
                #expect(try follower.wait(seconds: 30, for: "for follow to stop") == 0, "follow's exit status after a signal")
            }
            try feeder.wait()
            let follower = try paymentsctl(["--unix", daemon.socketPath, "follow", "--lsn-file", lsnFile], stdout: out, stderr: log)
            try expectComplete(out, daemon: daemon, allowRepeats: 0, log, follower: follower)
            follower.signal(SIGTERM)
            #expect(try follower.wait(seconds: 30) == 0)
            #expect(try LSNFile(lsnFile) == (try daemonLastLSN(daemon.unixAddress)))
        }

        /// SIGKILL at random moments: a restart may print again what came after the last LSN
        /// recorded (at most 100 ms of lines), never skip one.
        @Test func killedAndRestartedRepeatsAFewLinesAndSkipsNone() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let out = scratch.file("follow.out"), log = scratch.file("follow.log"), lsnFile = scratch.file("lsn")
            let feeder = FollowFeeder({ .unix(path: scratch.file("d.sock")) }, lines: DaemonStream.generate(count: 4000, seed: 12), chunk: 20, pauseMicroseconds: 12_000)
            for _ in 0..<6 {
                let follower = try paymentsctl(["--unix", daemon.socketPath, "follow", "--from", "0", "--lsn-file", lsnFile], stdout: out, stderr: log)
                usleep(UInt32.random(in: 50_000...400_000))
                follower.signal(SIGKILL)
                _ = try follower.wait(seconds: 10, for: "for follow to die of SIGKILL")
            }
            try feeder.wait()
            let follower = try paymentsctl(["--unix", daemon.socketPath, "follow", "--lsn-file", lsnFile], stdout: out, stderr: log)
            try expectComplete(out, daemon: daemon, allowRepeats: 6 * 2_000, log, follower: follower)
            follower.signal(SIGTERM)
            #expect(try follower.wait(seconds: 30) == 0)
        }

        /// The daemon killed (SIGKILL) and restarted three times under a running follower: it
        /// reconnects by itself and resumes after its last line, no gap and no line twice.
        @Test func daemonKilledUnderTheFollower() throws {
            let scratch = DaemonScratch()
            var daemon = try DaemonProcess(in: scratch)
            let out = scratch.file("follow.out"), log = scratch.file("follow.log")
            let follower = try paymentsctl(["--unix", daemon.socketPath, "follow", "--from", "0"], stdout: out, stderr: log)
            let feeder = FollowFeeder({ .unix(path: scratch.file("d.sock")) }, lines: DaemonStream.generate(count: 4000, seed: 13), chunk: 20, pauseMicroseconds: 12_000)
            for _ in 0..<3 {
                usleep(UInt32.random(in: 200_000...600_000))
                daemon.crash()
                daemon = try DaemonProcess(in: scratch)
            }
            try feeder.wait()
            try expectComplete(out, daemon: daemon, allowRepeats: 0, log, follower: follower)
            let errors = try String(contentsOfFile: log, encoding: .utf8)
            #expect(errors.contains("reconnecting"), "follow said nothing of the lost daemon:\n\(errors)")
            follower.signal(SIGTERM)
            #expect(try follower.wait(seconds: 30) == 0)
        }

        /// A start the daemon no longer keeps is an error that says what to do, never a skip.
        @Test func aStartThatIsGoneIsAnError() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch, extra: ["--segment-bytes", "4096", "--snapshot-bytes", "8192"])
            let feeder = FollowFeeder({ daemon.unixAddress }, lines: DaemonStream.generate(count: 3000, seed: 14), chunk: 500, pauseMicroseconds: 0)
            try feeder.wait()
            daemon.terminate()
            let restarted = try DaemonProcess(in: scratch, extra: ["--segment-bytes", "4096", "--snapshot-bytes", "8192"])
            let run = try DaemonRun.run(DaemonBinaries.paymentsctl, ["--unix", restarted.socketPath, "follow", "--from", "1"], in: scratch)
            #expect(run.status == 1, "\(run.stderr)")
            #expect(run.stderr.contains("lsn gone") && run.stderr.contains("--from snapshot"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }
}

/// `--lsn-file`'s number, read as a user would (`cat`).
func LSNFile(_ path: String) throws -> UInt64? {
    UInt64(try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
}

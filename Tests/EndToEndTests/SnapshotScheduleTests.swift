import Foundation
import Glibc
import Testing

// Snapshots are due by the journal not yet covered by one, counted across restarts: a daemon
// killed before it writes `--snapshot-bytes` in any one life still snapshots, so the journal
// to replay stays bounded however often it crashes.
@Suite("Snapshot schedule", .timeLimit(.minutes(2)))
struct SnapshotScheduleTests {
    @Test("six SIGKILLed lives, each below --snapshot-bytes: a snapshot is taken and the journal stays under twice the setting")
    func killedLivesStillSnapshot() throws {
        let scratch = DaemonScratch()
        let setting = 64 << 10
        var tx = 0
        for life in 1...6 {
            let daemon = try DaemonProcess(
                dataDirectory: scratch.file("data"), socketPath: scratch.file("d\(life).sock"),
                extra: ["--snapshot-bytes", String(setting), "--segment-bytes", String(setting / 4)])
            // What this start replayed: the journal after the newest snapshot, under 2× the setting.
            let replayed = daemon.log.split(separator: "\n").compactMap { line -> Int? in
                guard let r = line.range(of: "recovered ") else { return nil }
                return Int(line[r.upperBound...].prefix { $0.isNumber })
            }.first ?? -1
            #expect(replayed >= 0 && replayed * 23 < 2 * setting, "life \(life) replayed \(replayed) records")
            // About 0.6 of the setting per life (deposits journal at about 25 bytes each).
            let client = try DaemonClient(daemon.unixAddress)
            let lines = (0..<1500).map { _ -> String in tx += 1; return "deposit,\(tx % 50 + 1),\(tx),1\n" }
            try client.send(lines.joined())
            for _ in lines { #expect(try client.expectLine() == "OK") }
            let stats = try client.ask("STATS")
            let bytes = stats.split(separator: " ").first { $0.hasPrefix("journal_bytes=") }.flatMap { Int($0.dropFirst(14)) } ?? -1
            // Kept: the two newest snapshots' worth of journal and the segment being written.
            #expect(bytes >= 0 && bytes < 3 * setting, "life \(life): \(stats)")
            daemon.crash()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch.file("data"))
        #expect(names.contains { $0.hasSuffix(".snap") }, "\(names)")
        let last = try DaemonProcess(dataDirectory: scratch.file("data"), socketPath: scratch.file("last.sock"))
        let client = try DaemonClient(last.unixAddress)
        #expect(try client.ask("GET 1") == "1,180.0000,0.0000,180.0000,false")
        #expect(last.terminate() == 0)
    }

    @Test("a damaged newest snapshot: the daemon starts from the previous one and the journal after it")
    func damagedNewestSnapshotFallsBack() throws {
        let scratch = DaemonScratch()
        let data = scratch.file("data")
        let daemon = try DaemonProcess(dataDirectory: data, socketPath: scratch.file("a.sock"), extra: ["--snapshot-bytes", "20000"])
        let client = try DaemonClient(daemon.unixAddress)
        for round in 0..<4 {
            let lines = (1...1000).map { "deposit,\($0 % 10 + 1),\(round * 1000 + $0),1\n" }
            try client.send(lines.joined())
            for _ in lines { #expect(try client.expectLine() == "OK") }
        }
        #expect(daemon.terminate() == 0)  // a final snapshot at 4000
        let snaps = try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasSuffix(".snap") }.sorted()
        #expect(snaps.count == 2, "the two newest are kept: \(snaps)")
        let newest = data + "/" + snaps.last!
        var image = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
        image[image.count - 5] ^= 0x10
        try Data(image).write(to: URL(fileURLWithPath: newest))

        let verify = try DaemonRun.run(DaemonBinaries.paymentsd, ["verify", "--data-dir", data], timeoutSeconds: 30, in: scratch)
        let report = verify.stdout + verify.stderr
        #expect(verify.status == 2, "\(report)")
        #expect(report.contains(snaps.first!), "verify names the snapshot it would load: \(report)")

        let again = try DaemonProcess(dataDirectory: data, socketPath: scratch.file("b.sock"))
        #expect(again.log.contains("is damaged"))
        let check = try DaemonClient(again.unixAddress)
        #expect(try check.ask("GET 1") == "1,400.0000,0.0000,400.0000,false")
        #expect(try check.ask("STATS").contains("last_lsn=4000"))
        #expect(again.terminate() == 0)
    }
}

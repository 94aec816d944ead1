import Foundation
import PaymentsTestSupport
import Testing

@Suite struct BatchProgramTests {
    @Test func theBinaryIsBuiltWhereTheTestsLookForIt() {
        #expect(FileManager.default.isExecutableFile(atPath: paymentsBinary.path), "\(paymentsBinary.path)")
    }

    /// Every `X.csv` in Fixtures/ with its `X_expected.csv`, run through the real program:
    /// standard output must equal the expected file byte for byte, exit status 0.
    @Test func everyFixturePairMatchesItsExpectedFile() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: fixturesDirectory.path).sorted()
        let inputs = names.filter { $0.hasSuffix(".csv") && !$0.hasSuffix("_expected.csv") }
        #expect(inputs.count >= 25, "found only \(inputs.count) fixtures in \(fixturesDirectory.path)")
        for expectedName in names where expectedName.hasSuffix("_expected.csv") {
            let input = String(expectedName.dropLast("_expected.csv".count)) + ".csv"
            #expect(inputs.contains(input), "\(expectedName) has no input \(input)")
        }
        var failed: [String] = []
        for input in inputs {
            let base = String(input.dropLast(".csv".count))
            let expectedURL = fixturesDirectory.appendingPathComponent("\(base)_expected.csv")
            guard let expected = FileManager.default.contents(atPath: expectedURL.path) else {
                Issue.record("fixture \(base): no \(base)_expected.csv")
                failed.append(base)
                continue
            }
            let result = try runPayments([fixturesDirectory.appendingPathComponent(input).path])
            #expect(result.status == 0, "fixture \(base): exit status \(result.status), stderr: \(result.err)")
            if result.stdout != expected {
                failed.append(base)
                Issue.record("fixture \(base): stdout differs\n--- got\n\(result.out)--- expected\n\(String(decoding: expected, as: UTF8.self))")
            }
        }
        #expect(failed.isEmpty, "failing fixtures: \(failed)")
    }

    @Test func missingFileExitsOneAndNamesIt() throws {
        let result = try runPayments(["/nonexistent/dir/transactions.csv"])
        #expect(result.status == 1)
        #expect(result.err.contains("/nonexistent/dir/transactions.csv"))
        #expect(result.stdout.isEmpty, "no partial accounts on standard output")
    }

    @Test func unreadableInputAfterAGoodOneStillExitsOne() throws {
        let good = fixturesDirectory.appendingPathComponent("deposit_basic.csv").path
        let result = try runPayments([good, "/nonexistent-payments-input.csv"])
        #expect(result.status == 1)
        // A directory cannot be read as a file either.
        let dir = try runPayments([fixturesDirectory.path])
        #expect(dir.status == 1)
    }

    @Test func unknownOptionExitsTwoWithUsage() throws {
        let result = try runPayments(["--frobnicate", fixturesDirectory.appendingPathComponent("deposit_basic.csv").path])
        #expect(result.status == 2)
        #expect(result.err.contains("--frobnicate"))
        #expect(result.err.contains("usage"))
        #expect(result.stdout.isEmpty)
    }

    @Test func doubleDashEndsOptions() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("deposit,4,1,4\n".utf8).write(to: dir.appendingPathComponent("--json"))
        let result = try runPayments(["--", "--json"], in: dir)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "client,available,held,total,locked\n4,4.0000,0.0000,4.0000,false\n")
    }

    /// Only well-formed deposits and withdrawals consume their id: a malformed line does nothing.
    @Test func malformedLinesConsumeNoId() throws {
        let input = """
            deposit,1,7,-1
            deposit,1,8,0
            {"type":"deposit","client":1,"tx":9,"amount":1e2}
            withdrawal,1,10,
            deposit,1,7,2
            deposit,1,8,3
            {"type":"deposit","client":1,"tx":9,"amount":"4"}
            deposit,1,10,1
            withdrawal,1,10,1

            """
        let result = try runPayments(["-"], stdin: Data(input.utf8))
        #expect(result.status == 0)
        // 2 + 3 + 4 + 1 = 10; the last withdrawal reuses id 10 and is a duplicate.
        #expect(result.out == "client,available,held,total,locked\n1,10.0000,0.0000,10.0000,false\n")
        #expect(result.err.split(separator: "\n").last?.contains("4 applied, 1 rejected, 4 malformed") == true, "\(result.err)")
    }

    /// Accounts that cannot be written are a failure of the run, not a silent success.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func failedWriteOfTheAccountsExitsNonZero() throws {
        let result = try runPayments(
            [fixturesDirectory.appendingPathComponent("deposit_basic.csv").path], stdoutPath: "/dev/full")
        #expect(result.status != 0)
        #expect(result.err.contains("standard output"), "\(result.err)")
    }

    @Test func helpExitsZero() throws {
        let result = try runPayments(["--help"])
        #expect(result.status == 0)
        #expect(result.out.contains("usage: payments"))
    }

    @Test func dashAndNoArgumentsReadStandardInput() throws {
        let input = try Data(contentsOf: fixturesDirectory.appendingPathComponent("seed_dispute.csv"))
        let expected = try Data(contentsOf: fixturesDirectory.appendingPathComponent("seed_dispute_expected.csv"))
        let dash = try runPayments(["-"], stdin: input)
        #expect(dash.status == 0)
        #expect(dash.stdout == expected)
        let none = try runPayments([], stdin: input)
        #expect(none.status == 0)
        #expect(none.stdout == expected)
        // `-` between files: read in the order given.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("first.csv"), last = dir.appendingPathComponent("last.csv")
        try Data("deposit,1,1,10\n".utf8).write(to: first)
        try Data("dispute,1,1,\n".utf8).write(to: last)
        let mixed = try runPayments([first.path, "-", last.path], stdin: Data("withdrawal,1,2,4\n".utf8))
        #expect(mixed.status == 0)
        // 10 in, 4 out, then the 10 disputed: -4 available, 10 held, 6 total.
        #expect(mixed.out == "client,available,held,total,locked\n1,-4.0000,10.0000,6.0000,false\n")
    }

    /// Standard input as a pipe written a few bytes at a time: lines arrive split across reads.
    @Test func pipeFedInSmallPiecesGivesTheSameAccounts() throws {
        let lines = randomInputLines(seed: 5, count: 400)
        let text = Data((lines.joined(separator: "\n") + "\n").utf8)
        let whole = try runPayments(["-"], stdin: text)
        let piecewise = try runPayments(["-"]) { handle in
            var start = 0, k = 0
            while start < text.count {
                let n = min([1, 7, 3, 64, 2][k % 5], text.count - start)
                try handle.write(contentsOf: text[start..<(start + n)])
                start += n
                k += 1
                if k % 50 == 0 { usleep(1_000) }
            }
        }
        #expect(whole.status == 0 && piecewise.status == 0)
        #expect(piecewise.stdout == whole.stdout)
        #expect(piecewise.err == whole.err)
        #expect(whole.out.split(separator: "\n").count > 5)
    }

    /// Each file is read to its own end: a first file whose last line has no newline does not run
    /// into the second file's first line.
    @Test func eachFileEndsItsOwnLastLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.csv"), b = dir.appendingPathComponent("b.csv")
        try Data("deposit,1,1,1".utf8).write(to: a)
        try Data("deposit,1,2,2\n".utf8).write(to: b)
        let result = try runPayments([a.path, b.path])
        #expect(result.status == 0)
        #expect(result.out == "client,available,held,total,locked\n1,3.0000,0.0000,3.0000,false\n")
    }

    @Test(arguments: [7, 8, 9] as [UInt64])
    func twoFilesGiveTheSameAccountsAsTheirConcatenation(seed: UInt64) throws {
        let lines = randomInputLines(seed: seed, count: 3_000)
        var rng = SplitMix64(seed: seed ^ 0x5555)
        let cut = 500 + rng.below(2_000)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.csv"), b = dir.appendingPathComponent("b.csv"),
            both = dir.appendingPathComponent("both.csv")
        let textA = lines[..<cut].joined(separator: "\n") + "\n", textB = lines[cut...].joined(separator: "\n") + "\n"
        try Data(textA.utf8).write(to: a)
        try Data(textB.utf8).write(to: b)
        try Data((textA + textB).utf8).write(to: both)
        let split = try runPayments([a.path, b.path]), whole = try runPayments([both.path])
        #expect(split.status == 0 && whole.status == 0)
        #expect(split.stdout == whole.stdout)
        #expect(split.out.split(separator: "\n").count > 10, "the stream makes many accounts")
        // Same counts in the summary (the last line of standard error).
        #expect(split.err.split(separator: "\n").last == whole.err.split(separator: "\n").last)
        // And the same input again gives the same output.
        let again = try runPayments([both.path])
        #expect(again.stdout == whole.stdout)
        // JSON output carries the same accounts.
        let json = try runPayments(["--json", a.path, b.path])
        #expect(json.out.split(separator: "\n").count == whole.out.split(separator: "\n").count - 1)
    }

    @Test func jsonOutputIsExact() throws {
        let input = """
            deposit,1,1,1.5
            {"type":"deposit","client":2,"tx":2,"amount":"2"}
            deposit,2,3,0.25
            dispute,2,3,
            withdrawal,1,4,2
            deposit,3,5,1
            dispute,3,5,
            chargeback,3,5,

            """
        let result = try runPayments(["--json", "-"], stdin: Data(input.utf8))
        #expect(result.status == 0)
        #expect(result.out == """
            {"client":1,"available":"1.5000","held":"0.0000","total":"1.5000","locked":false}
            {"client":2,"available":"2.0000","held":"0.2500","total":"2.2500","locked":false}
            {"client":3,"available":"0.0000","held":"0.0000","total":"0.0000","locked":true}

            """)
    }

    @Test func verboseNamesFileLineAndReasonOnStandardError() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("in.csv")
        try Data("""
            type,client,tx,amount
            deposit,1,1,2.0
            withdrawal,1,2,5.0
            deposit,1,3,abc

            dispute,1,99,

            """.utf8).write(to: file)
        let expectedOut = "client,available,held,total,locked\n1,2.0000,0.0000,2.0000,false\n"

        let verbose = try runPayments(["--verbose", file.path])
        #expect(verbose.status == 0)
        #expect(verbose.out == expectedOut, "standard output carries nothing but the accounts")
        let errLines = verbose.err.split(separator: "\n").map(String.init)
        let line3 = errLines.first { $0.hasPrefix("\(file.path):3:") }
        let line4 = errLines.first { $0.hasPrefix("\(file.path):4:") }
        let line6 = errLines.first { $0.hasPrefix("\(file.path):6:") }
        #expect(line3?.contains("insufficient funds") == true, "\(verbose.err)")
        #expect(line4?.contains("amount") == true, "\(verbose.err)")
        #expect(line4?.contains("malformed") == true, "\(verbose.err)")
        #expect(line6?.contains("unknown tx") == true, "\(verbose.err)")
        // Only the refused lines are reported: not the header, the applied deposit or the blank line.
        for n in [1, 2, 5] { #expect(!errLines.contains { $0.hasPrefix("\(file.path):\(n):") }, "line \(n)") }
        let summary = errLines.last ?? ""
        #expect(summary.contains("1 applied") && summary.contains("2 rejected") && summary.contains("1 malformed"), "\(summary)")

        // Without --verbose: the same accounts, only the summary on standard error.
        let quiet = try runPayments([file.path])
        #expect(quiet.status == 0)
        #expect(quiet.out == expectedOut)
        #expect(quiet.err.split(separator: "\n").count == 1)
        #expect(quiet.err.split(separator: "\n").last.map(String.init) == summary)
    }

    @Test func verboseCountsLinesPerFileAndNamesStandardInput() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.csv"), b = dir.appendingPathComponent("b.csv")
        try Data("deposit,1,1,1\nwithdrawal,1,2,9\n".utf8).write(to: a)
        try Data("deposit,1,3,1\ndeposit,1,1,1\n".utf8).write(to: b)
        let result = try runPayments(["-v", a.path, b.path, "-"], stdin: Data("bogus\n".utf8))
        #expect(result.status == 0)
        let err = result.err
        #expect(err.contains("\(a.path):2: "), "\(err)")
        #expect(err.contains("\(b.path):2: "), "\(err)")
        #expect(err.contains("duplicate"), "\(err)")
        #expect(err.contains(":1: ") && err.contains("unknown transaction type"), "\(err)")
        #expect(result.out == "client,available,held,total,locked\n1,2.0000,0.0000,2.0000,false\n")
    }

    @Test func tooLongLineIsMalformedAndReadingContinues() throws {
        let long = "deposit,1,1," + String(repeating: "1", count: 5_000)
        let result = try runPayments(["--verbose", "-"], stdin: Data("\(long)\ndeposit,1,2,1\n".utf8))
        #expect(result.status == 0)
        #expect(result.out == "client,available,held,total,locked\n1,1.0000,0.0000,1.0000,false\n")
        #expect(result.err.contains(":1: ") && result.err.contains("line too long"), "\(result.err)")
        #expect(result.err.split(separator: "\n").last?.contains("1 malformed") == true)
    }

    /// Several MiB, so lines straddle the program's read chunks; the totals are counted here.
    @Test func largeInputAcrossReadChunks() throws {
        var text = "type,client,tx,amount\r\n"
        var expected = [Int](repeating: 0, count: 50)
        for i in 0..<250_000 {
            let client = (i * 7) % 50
            let units = 1 + i % 3  // 0.0001, 0.0002 or 0.0003
            expected[client] += units
            text += i % 5 == 0 ? "deposit, \(client), \(i), 0.000\(units)\r\n" : "deposit,\(client),\(i),0.000\(units)\n"
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("big.csv")
        try Data(text.utf8).write(to: file)
        let result = try runPayments([file.path])
        #expect(result.status == 0)
        var want = "client,available,held,total,locked\n"
        for c in 0..<50 {
            let amount = "\(expected[c] / 10_000).\(String(expected[c] % 10_000).leftPadded(4))"
            want += "\(c),\(amount),0.0000,\(amount),false\n"
        }
        #expect(result.out == want)
        #expect(result.err.contains("250000 applied"), "\(result.err)")
    }
}

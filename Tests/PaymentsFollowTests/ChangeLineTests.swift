import PaymentsFollow
import Testing

@Suite struct ChangeLineTests {
    static let deposit = #"{"lsn":42,"type":"deposit","client":1,"tx":7,"amount":"2.5000","outcome":"ok","account":{"client":1,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}"#

    func text(_ line: String, _ range: Range<Int>) -> String {
        String(decoding: Array(line.utf8)[range], as: UTF8.self)
    }

    @Test func readsATransactionLine() throws {
        let change = try ChangeLine.parse(Array(Self.deposit.utf8))
        #expect(change.lsn == 42)
        #expect(!change.isSnapshot)
        let account = try #require(change.account)
        #expect(account.client == 1)
        #expect(text(Self.deposit, account.available) == "2.5000")
        #expect(text(Self.deposit, account.held) == "0.0000")
        #expect(text(Self.deposit, account.total) == "2.5000")
        #expect(account.locked == false)
    }

    @Test func readsASnapshotLineAndKeysInAnyOrder() throws {
        let line = #"{ "account" : {"locked":true,"total":"-1.0000","held":"0.0000","available":"-1.0000","client":65535}, "snapshot":true, "lsn":9 }"#
        let change = try ChangeLine.parse(Array(line.utf8))
        #expect(change.lsn == 9 && change.isSnapshot)
        let account = try #require(change.account)
        #expect(account.client == 65535 && account.locked)
        #expect(text(line, account.available) == "-1.0000")
    }

    @Test func aRefusalWithoutAccountAndUnknownKeysAreRead() throws {
        let line = #"{"lsn":3,"type":"withdrawal","client":2,"tx":9,"amount":"1.0000","outcome":"rejected","reason":"insufficient \"funds\"","extra":[1,{"a":null},-2.5e3],"account":null}"#
        let change = try ChangeLine.parse(Array(line.utf8))
        #expect(change.lsn == 3 && change.account == nil)
        #expect(try ChangeLine.parse(Array(#"{"lsn":4,"type":"dispute"}"#.utf8)).account == nil)
    }

    @Test(arguments: [
        "", "{}", #"{"lsn":-1}"#, #"{"lsn":1.5}"#, #"{"lsn":18446744073709551616}"#, #"{"lsn":1"#,
        #"{"lsn":1} x"#, #"{"lsn":1,"snapshot":true}"#, "OK", "ERR lsn gone: oldest is 5",
        #"{"lsn":1,"account":{"client":1,"available":2.5,"held":"0.0000","total":"2.5000","locked":false}}"#,
        #"{"lsn":1,"account":{"client":1,"available":"2.50","held":"0.0000","total":"2.5000","locked":false}}"#,
        #"{"lsn":1,"account":{"client":70000,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}"#,
        #"{"lsn":1,"account":{"client":1,"held":"0.0000","total":"2.5000","locked":false}}"#,
        #"{"lsn":1,"account":{"client":1,"available":"2.5000","held":"0.0000","total":"2.5000","locked":"no"}}"#,
    ])
    func refusesWhatIsNotAStreamLine(_ line: String) {
        #expect(throws: ChangeLine.ParseError.self) { try ChangeLine.parse(Array(line.utf8)) }
    }
}

@Suite struct LineBufferTests {
    /// The same lines come out whatever the chunking, one byte at a time included.
    @Test func framingDoesNotDependOnReadSizes() {
        let text = Array("a\nbb\r\n\nccc\n{\"lsn\":1}\npartial".utf8)
        for size in [1, 2, 3, 7, text.count] {
            var buffer = LineBuffer()
            var lines: [String] = []
            var index = 0
            while index < text.count {
                buffer.append(text[index..<min(index + size, text.count)])
                index += size
                buffer.takeLines { lines.append(String(decoding: $0, as: UTF8.self)); return true }
            }
            #expect(lines == ["a", "bb", "", "ccc", #"{"lsn":1}"#], "chunks of \(size)")
            #expect(buffer.pendingBytes == 7)
        }
    }

    @Test func stopsWhereTheBodySays() {
        var buffer = LineBuffer()
        buffer.append(Array("1\n2\n3\n".utf8)[...])
        var seen: [String] = []
        #expect(buffer.takeLines { seen.append(String(decoding: $0, as: UTF8.self)); return seen.count < 2 } == 2)
        #expect(buffer.peekLine() == "3")
        buffer.dropLine()
        #expect(buffer.isEmpty)
    }
}

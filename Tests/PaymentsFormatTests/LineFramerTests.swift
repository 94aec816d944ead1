import Testing
import PaymentsFormat

/// What a framer yields, copied out so it can be compared.
enum Framed: Equatable, CustomStringConvertible {
    case line(String)
    case tooLong
    var description: String {
        switch self {
        case .line(let text): return "line(\(text.debugDescription))"
        case .tooLong: return "tooLong"
        }
    }
}

func frame(_ input: String, chunk: Int, maxLine: Int = 16, bufferBytes: Int = 64) -> [Framed] {
    let framer = LineFramer(maxLineBytes: maxLine, bufferBytes: bufferBytes)
    var out: [Framed] = []
    let collect: (InputEvent) -> Void = { event in
        switch event {
        case .line(let bytes): out.append(.line(String(decoding: bytes, as: UTF8.self)))
        case .tooLong: out.append(.tooLong)
        case .bytes: Issue.record("raw bytes from a line framer")
        }
    }
    let bytes = Array(input.utf8)
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunk)
        bytes[offset..<end].withUnsafeBytes { framer.feed($0, collect) }
        offset = end
    }
    if let last = framer.finish() { collect(last) }
    return out
}

@Suite struct LineFramerTests {
    let sample = "deposit,1,1,1.0\nwithdrawal,1,2,0.5\r\n\nGET 1\n" + String(repeating: "x", count: 40) + "\nPING\nlast"

    @Test func sameOutputForEveryChunking() {
        let whole = frame(sample, chunk: 1 << 20, maxLine: 20)
        #expect(whole == [
            .line("deposit,1,1,1.0"), .line("withdrawal,1,2,0.5"), .line(""), .line("GET 1"),
            .tooLong, .line("PING"), .line("last"),
        ])
        for chunk in [1, 2, 3, 5, 7, 16, 17, 31, 64] {
            #expect(frame(sample, chunk: chunk, maxLine: 20) == whole, "chunk \(chunk)")
        }
    }

    @Test func crlfIsStrippedAndLoneCRKept() {
        #expect(frame("a\r\nb\rc\n\r\n", chunk: 1) == [.line("a"), .line("b\rc"), .line("")])
    }

    @Test func lineOfExactlyTheLimitPasses() {
        let max = String(repeating: "m", count: 16)
        for chunk in [1, 4, 100] {
            #expect(frame(max + "\n" + max + "\r\n" + max, chunk: chunk) == [.line(max), .line(max), .line(max)])
        }
    }

    @Test func tooLongLineYieldsOnceAndSkipsToItsNewline() {
        let long = String(repeating: "L", count: 17)
        let huge = String(repeating: "H", count: 1000)
        for chunk in [1, 3, 64, 5000] {
            #expect(frame(long + "\nok\n" + huge + "\r\nafter", chunk: chunk) == [.tooLong, .line("ok"), .tooLong, .line("after")])
        }
    }

    @Test func tooLongLastLineWithoutNewline() {
        #expect(frame("a\n" + String(repeating: "z", count: 500), chunk: 7) == [.line("a"), .tooLong])
    }

    @Test func lastLineWithoutNewlineAndEmptyInput() {
        #expect(frame("one\ntwo", chunk: 1) == [.line("one"), .line("two")])
        #expect(frame("", chunk: 1) == [])
        #expect(frame("one\n", chunk: 1) == [.line("one")])
    }

    @Test func defaultLimitIs4096() {
        let ok = String(repeating: "a", count: 4096)
        let over = String(repeating: "b", count: 4097)
        #expect(frame(ok + "\n" + over + "\nend\n", chunk: 1000, maxLine: 4096, bufferBytes: 64 * 1024)
            == [.line(ok), .tooLong, .line("end")])
    }

    @Test func manyLinesInBigChunksAllCounted() {
        let framer = LineFramer()
        var lines = 0, bytes = 0
        let input = Array(String(repeating: "deposit,1,1,1.0\n", count: 100_000).utf8)
        input.withUnsafeBytes { raw in
            framer.feed(raw) { event in
                if case .line(let line) = event { lines += 1; bytes += line.count }
            }
        }
        #expect(lines == 100_000)
        #expect(bytes == 100_000 * 15)
    }
}

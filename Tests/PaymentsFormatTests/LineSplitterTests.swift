import PaymentsFormat
import Testing

/// A line handed out by the splitter, copied so it outlives the callback.
enum Piece: Equatable, CustomStringConvertible {
    case line([UInt8])
    case tooLong

    var description: String {
        switch self {
        case .line(let b): "line(\(String(decoding: b, as: UTF8.self).debugDescription))"
        case .tooLong: "tooLong"
        }
    }
}

/// Feeds `input` cut at the given chunk sizes (repeated), then finishes.
func split(_ input: [UInt8], chunks: [Int], max: Int = LineSplitter.defaultMaxLineBytes) -> [Piece] {
    var splitter = LineSplitter(maxLineBytes: max)
    var out: [Piece] = []
    let record: (LineSplitter.Piece) -> Void = { p in
        switch p {
        case .line(let b): out.append(.line(Array(b)))
        case .tooLong: out.append(.tooLong)
        }
    }
    input.withUnsafeBytes { all in
        var start = 0, k = 0
        while start < all.count {
            let n = Swift.min(Swift.max(chunks[k % chunks.count], 1), all.count - start)
            splitter.feed(UnsafeRawBufferPointer(rebasing: all[start..<(start + n)]), record)
            start += n
            k += 1
        }
    }
    splitter.finish(record)
    return out
}

func split(_ text: String, chunks: [Int] = [Int.max], max: Int = LineSplitter.defaultMaxLineBytes) -> [Piece] {
    split(Array(text.utf8), chunks: chunks, max: max)
}

func l(_ s: String) -> Piece { .line(Array(s.utf8)) }

/// What the splitter must produce, worked out independently: split at every `\n`; a last piece
/// without a newline counts when it is not empty; a line over `max` bytes is one `.tooLong`.
func expectedPieces(_ input: [UInt8], max: Int) -> [Piece] {
    var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    if lines.last?.isEmpty == true { lines.removeLast() }
    return lines.map { $0.count > max ? .tooLong : .line($0) }
}

@Suite struct LineSplitterTests {
    @Test func linesLoseTheirNewlineAndKeepTheirCarriageReturn() {
        #expect(split("a\nbb\n\nccc\n") == [l("a"), l("bb"), l(""), l("ccc")])
        #expect(split("a\r\nb\r\n") == [l("a\r"), l("b\r")])
        #expect(split("\n") == [l("")])
        #expect(split("") == [])
    }

    @Test func lastLineWithoutNewlineComesFromFinish() {
        #expect(split("deposit,1,1,1.0\ndeposit,1,2,2.0") == [l("deposit,1,1,1.0"), l("deposit,1,2,2.0")])
        #expect(split("only") == [l("only")])
        #expect(split("x\r") == [l("x\r")])
        for chunks in [[1], [2], [3], [7]] {
            #expect(split("deposit,1,1,1.0\ndeposit,1,2,2.0", chunks: chunks) == [l("deposit,1,1,1.0"), l("deposit,1,2,2.0")])
        }
    }

    @Test func finishWithoutPendingBytesAddsNothingAndResets() {
        var s = LineSplitter()
        var count = 0
        let bytes = Array("abc\n".utf8)
        bytes.withUnsafeBytes { s.feed($0) { _ in count += 1 } }
        s.finish { _ in count += 100 }
        #expect(count == 1)
        // After finish the splitter starts afresh: no leftover from the previous stream.
        var got: [Piece] = []
        Array("par".utf8).withUnsafeBytes { s.feed($0) { _ in Issue.record("no line yet") } }
        s.finish { if case .line(let b) = $0 { got.append(.line(Array(b))) } else { got.append(.tooLong) } }
        Array("tial\n".utf8).withUnsafeBytes { s.feed($0) { if case .line(let b) = $0 { got.append(.line(Array(b))) } } }
        #expect(got == [l("par"), l("tial")])
    }

    @Test func lineOfExactlyTheLimitPassesOneMoreIsTooLong() {
        let max = 16
        let exact = String(repeating: "x", count: max), over = String(repeating: "y", count: max + 1)
        for chunks in [[Int.max], [1], [5], [16], [17], [3, 11]] {
            #expect(split("\(exact)\n\(over)\nz\n", chunks: chunks, max: max) == [l(exact), .tooLong, l("z")], "\(chunks)")
            #expect(split("\(over)", chunks: chunks, max: max) == [.tooLong], "\(chunks)")
            #expect(split("\(exact)", chunks: chunks, max: max) == [l(exact)], "\(chunks)")
        }
    }

    @Test func tooLongLineIsReportedOnceAndSkippedToItsNewline() {
        let long = String(repeating: "1", count: 10_000)
        let input = "deposit,1,1,\(long)\ndeposit,1,2,1\n"
        for chunks in [[Int.max], [1], [100], [4096], [4097], [5000, 1, 3]] {
            #expect(split(input, chunks: chunks) == [.tooLong, l("deposit,1,2,1")], "\(chunks)")
        }
        // Far past the limit, in one piece or many: still one report.
        let huge = String(repeating: "z", count: 100_000)
        #expect(split("\(huge)\nok\n", chunks: [1000]) == [.tooLong, l("ok")])
        #expect(split("\(huge)\n\(huge)\n", chunks: [333]) == [.tooLong, .tooLong])
    }

    @Test func defaultLimitIs4096Bytes() {
        #expect(LineSplitter.defaultMaxLineBytes == 4096)
        #expect(LineSplitter().maxLineBytes == 4096)
        let exact = String(repeating: "a", count: 4096)
        #expect(split(exact + "\n" + exact + "a\n", chunks: [1000]) == [l(exact), .tooLong])
    }

    /// The same bytes give the same lines whether fed whole, one byte at a time, or in random
    /// chunks, and match lines cut independently.
    @Test(arguments: [1, 2, 3, 42, 1_000_003] as [UInt64])
    func chunkingNeverChangesTheLines(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let max = 64
        var input: [UInt8] = []
        for _ in 0..<800 {
            let length: Int
            switch rng.below(10) {
            case 0: length = 0
            case 1: length = max - 1 + rng.below(3)
            case 2: length = max + rng.below(300)
            default: length = rng.below(max)
            }
            for _ in 0..<length { input.append([0x61, 0x2C, 0x31, 0x20, 0x0D, 0x7B][rng.below(6)]) }
            if rng.below(8) == 0 { input.append(0x0D) }
            input.append(0x0A)
        }
        if rng.below(2) == 0 { input += Array("tail-without-newline".utf8) }
        let expected = expectedPieces(input, max: max)
        #expect(expected.contains(.tooLong) && expected.count > 700)
        #expect(split(input, chunks: [Int.max], max: max) == expected)
        #expect(split(input, chunks: [1], max: max) == expected)
        for _ in 0..<5 {
            let chunks = (0..<50).map { _ in 1 + rng.below(200) }
            #expect(split(input, chunks: chunks, max: max) == expected, "\(chunks.prefix(5))")
        }
    }
}

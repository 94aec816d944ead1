// Helpers for the HTTP tests: feeding a parser in pieces of any size and collecting events.

@testable import PaymentsServer
import Testing

enum HTTPTestFeed {
    /// Feeds `input` in pieces of `pieceSize` bytes (0: all at once), draining `next()` after
    /// each piece as the server does, and returns every event except `.needMoreData`.
    /// Stops at the first error.
    static func events(
        _ input: [UInt8], pieceSize: Int = 0, limits: HTTPParserLimits = HTTPParserLimits()
    ) -> [HTTPParserEvent] {
        var parser = HTTPRequestParser(limits: limits)
        var out: [HTTPParserEvent] = []
        let size = pieceSize == 0 ? max(input.count, 1) : pieceSize
        var start = 0
        repeat {
            let end = min(start + size, input.count)
            parser.feed(input[start..<end])
            start = end
            while true {
                let event = parser.next()
                if event == .needMoreData { break }
                out.append(event)
                if case .error = event { return out }
            }
        } while start < input.count
        return out
    }

    /// The events without `.sendContinue`, whose presence depends on how the bytes were split.
    static func withoutContinue(_ events: [HTTPParserEvent]) -> [HTTPParserEvent] {
        events.filter { $0 != .sendContinue }
    }

    /// Parses `input` whole, one byte at a time and in a few odd piece sizes; checks that all
    /// splits agree and returns the events of the whole feed.
    static func consistentEvents(
        _ input: [UInt8], limits: HTTPParserLimits = HTTPParserLimits(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [HTTPParserEvent] {
        let whole = withoutContinue(events(input, limits: limits))
        for size in [1, 2, 3, 7, 64] {
            let split = withoutContinue(events(input, pieceSize: size, limits: limits))
            #expect(split == whole, "pieces of \(size) bytes disagree with the whole input", sourceLocation: sourceLocation)
        }
        return whole
    }

    /// The requests of `input`, checked for split-independence; records an issue on any error.
    static func requests(
        _ text: String, limits: HTTPParserLimits = HTTPParserLimits(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [HTTPRequest] {
        consistentEvents(Array(text.utf8), limits: limits, sourceLocation: sourceLocation).compactMap { event in
            if case .request(let r) = event { return r }
            Issue.record("unexpected event \(event)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// The single error status `input` produces, whatever the split; nil if none.
    static func errorStatus(
        _ input: [UInt8], limits: HTTPParserLimits = HTTPParserLimits(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> HTTPStatus? {
        for event in consistentEvents(input, limits: limits, sourceLocation: sourceLocation) {
            if case .error(let status) = event { return status }
        }
        return nil
    }

    static func errorStatus(
        _ text: String, limits: HTTPParserLimits = HTTPParserLimits(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> HTTPStatus? {
        errorStatus(Array(text.utf8), limits: limits, sourceLocation: sourceLocation)
    }
}

extension ArraySlice<UInt8> {
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension HTTPRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

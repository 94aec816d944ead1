internal import CPaymentsTLS

/// OpenSSL's per-thread error queue. Every call into OpenSSL starts with `clear()` so that what
/// is found afterwards is about that call, and every failure `take()`s the queue, so nothing is
/// left to confuse the next call on this thread (`SSL_get_error` reads the queue too).
enum OpenSSLErrorQueue {
    /// Empties the queue. The corresponding C function is `ERR_clear_error`.
    static func clear() { ERR_clear_error() }

    /// Every error code queued, oldest first; the queue is left empty.
    static func take() -> [UInt] {
        var codes: [UInt] = []
        var code = ERR_get_error()
        while code != 0 {
            codes.append(code)
            code = ERR_get_error()
        }
        return codes
    }

    /// The codes as one line (`ERR_error_string_n` for each, `; ` between), or `fallback`
    /// when there are none.
    static func text(_ codes: [UInt], fallback: String = "no reason given by OpenSSL") -> String {
        guard !codes.isEmpty else { return fallback }
        return codes.map { code in
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }.joined(separator: "; ")
    }

    /// `take()` as one line.
    static func drain(fallback: String = "no reason given by OpenSSL") -> String {
        text(take(), fallback: fallback)
    }
}

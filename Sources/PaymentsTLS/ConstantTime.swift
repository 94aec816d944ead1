internal import CPaymentsTLS

/// Whether `a` and `b` hold the same bytes, taking the same time wherever they differ, so that
/// timing a token check tells an attacker nothing about how much of a guess was right (SPEC §9).
/// Different lengths are unequal at once: the length of a SHA-256 digest is no secret.
/// The corresponding C function is `CRYPTO_memcmp`.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { a in
        b.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
    }
}

import PaymentsTLS
import Testing

@Suite struct SHA256Tests {
    /// FIPS 180-2 appendix B and the NIST example values.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func nistVector(message: String, digest: String) {
        #expect(Hex.encode(SHA256.hash(message.utf8)) == digest)
        #expect(Hex.encode(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test func oneMillionA() {
        let digest = SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        #expect(Hex.encode(digest) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// A collection without contiguous storage goes through the copy path.
    @Test func nonContiguousCollection() {
        let bytes = "abc".utf8.lazy.map { $0 }
        #expect(Hex.encode(SHA256.hash(bytes)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func hexRoundTrip() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(Hex.decode("00017F80ABff") == bytes)
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("0g") == nil)
    }

    @Test func constantTimeComparison() {
        let digest = SHA256.hash("token".utf8)
        #expect(constantTimeEquals(digest, SHA256.hash("token".utf8)))
        #expect(constantTimeEquals([], []))
        var last = digest
        last[31] ^= 1
        #expect(!constantTimeEquals(digest, last))
        var first = digest
        first[0] ^= 0x80
        #expect(!constantTimeEquals(digest, first))
        #expect(!constantTimeEquals(digest, Array(digest.dropLast())))
        #expect(!constantTimeEquals(Array(digest.dropLast()), digest))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 3, 0]))
    }
}

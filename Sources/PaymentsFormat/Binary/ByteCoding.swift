/// Writes little-endian integers into memory sized in advance: one store per field, no
/// bounds growth, so encoding a snapshot of hundreds of MiB costs little next to writing it.
public struct ByteWriter {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    public private(set) var offset = 0

    /// Writes into `capacity` bytes at `base`; every `put` checks it stays inside.
    public init(into base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always)
    public mutating func put<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        precondition(offset + size <= capacity, "ByteWriter: write past the size computed in advance")
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += size
    }

    public mutating func put(bytes: [UInt8]) {
        for b in bytes { put(b) }
    }

    /// A byte array of exactly `size` bytes filled by `body`, which must write all of them.
    public static func bytes(size: Int, _ body: (inout ByteWriter) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var writer = ByteWriter(into: UnsafeMutableRawPointer(buffer.baseAddress!), capacity: size)
            body(&writer)
            precondition(writer.offset == size, "ByteWriter: wrote \(writer.offset) of the \(size) bytes computed")
            count = size
        }
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and a short buffer gives nil,
/// so damaged input is reported, never trusted.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    @inline(__always)
    public mutating func get<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }
}

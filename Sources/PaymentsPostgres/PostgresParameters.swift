internal import CLibPQ

/// The four parallel C arrays `PQexecParams` and `PQsendQueryParams` take (types, value
/// pointers, lengths, formats), built from `PostgresValue`s. Every value lives in one buffer
/// for the duration of the call.
struct PostgresParameters {
    private var types: [Oid] = []
    private var offsets: [Int?] = []
    private var lengths: [Int32] = []
    private var formats: [Int32] = []
    /// All encoded values back to back, plus one spare byte so that an empty value (an empty
    /// string) still gets a non-null pointer (null would mean SQL `NULL`).
    private var buffer: [UInt8] = []

    init(_ values: [PostgresValue]) {
        for value in values {
            types.append(value.typeOID)
            formats.append(1)  // binary
            if let encoded = value.binaryEncoding {
                offsets.append(buffer.count)
                lengths.append(Int32(encoded.count))
                buffer += encoded
            } else {
                offsets.append(nil)
                lengths.append(0)
            }
        }
        buffer.append(0)
    }

    var count: Int32 { Int32(types.count) }

    /// Calls `body(types, values, lengths, formats)` with pointers valid only inside it.
    func withArrays<R>(
        _ body: (UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) -> R {
        buffer.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
            let values: [UnsafePointer<CChar>?] = offsets.map { offset in offset.map { base + $0 } }
            return types.withUnsafeBufferPointer { types in
                values.withUnsafeBufferPointer { values in
                    lengths.withUnsafeBufferPointer { lengths in
                        formats.withUnsafeBufferPointer { formats in
                            body(types.baseAddress, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                        }
                    }
                }
            }
        }
    }
}

/// A statement parameter. Every parameter is sent in PostgreSQL's binary format with an explicit
/// type, so no value is ever rendered as text and re-parsed by the server (no quoting, no locale,
/// no ambiguity about what `'1'` means).
public enum PostgresValue: Sendable {
    case int64(Int64)
    case int32(Int32)
    case text(String)
    case bytes([UInt8])
    case bool(Bool)
    /// SQL `NULL` (sent as a null pointer; its type is left for the server to infer).
    case null
}

extension PostgresValue {
    /// The type OID that goes with the value (`pg_type.oid`): `int8` 20, `int4` 23, `text` 25,
    /// `bytea` 17, `bool` 16; 0 lets the server infer the type of a `NULL`.
    var typeOID: UInt32 {
        switch self {
        case .int64: 20
        case .int32: 23
        case .text: 25
        case .bytes: 17
        case .bool: 16
        case .null: 0
        }
    }

    /// The value in PostgreSQL's binary send format, or `nil` for `NULL`.
    var binaryEncoding: [UInt8]? {
        switch self {
        case .int64(let value): PostgresBinary.bigEndianBytes(of: UInt64(bitPattern: value))
        case .int32(let value): PostgresBinary.bigEndianBytes(of: UInt32(bitPattern: value))
        case .text(let string): Array(string.utf8)
        case .bytes(let bytes): bytes
        case .bool(let value): [value ? 1 : 0]
        case .null: nil
        }
    }
}

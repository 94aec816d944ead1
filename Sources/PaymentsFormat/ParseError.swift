import PaymentsCore

/// Why a line could not be read as a transaction. Malformed lines change nothing; the partner
/// needs to know which field was wrong, so every case says it.
public enum ParseError: Error, Hashable, Sendable {
    case unknownType
    case missingField(Field)
    case badField(Field)
    case tooManyFields
    case badAmount(AmountError)
    /// A deposit or withdrawal without an amount.
    case missingAmount
    /// A deposit or withdrawal amount must be greater than zero.
    case nonPositiveAmount
    case lineTooLong
    case badJSON(JSONError)

    public enum Field: String, Sendable { case type, client, tx, amount }

    /// One line for people: the text after `ERR` and in `--verbose` output.
    public var message: String {
        switch self {
        case .unknownType: "unknown transaction type"
        case .missingField(let f): "missing \(f.rawValue)"
        case .badField(.client): "client must be an integer 0-65535"
        case .badField(.tx): "tx must be an integer 0-4294967295"
        case .badField(let f): "bad \(f.rawValue)"
        case .tooManyFields: "too many fields (expected type,client,tx,amount)"
        case .badAmount(let e): "bad amount: \(e.message)"
        case .missingAmount: "missing amount"
        case .nonPositiveAmount: "amount must be greater than zero"
        case .lineTooLong: "line too long"
        case .badJSON(let e): "bad JSON: \(e.message)"
        }
    }
}

/// Why amount text was refused (§1): only plain digits with an optional point and up to four
/// fraction digits are money.
public enum AmountError: Error, Hashable, Sendable {
    case sign, exponent, tooManyFractionDigits, noDigits, tooLarge, invalidCharacter

    public var message: String {
        switch self {
        case .sign: "signs are not allowed"
        case .exponent: "exponents are not allowed"
        case .tooManyFractionDigits: "more than 4 digits after the point"
        case .noDigits: "no digits"
        case .tooLarge: "too large"
        case .invalidCharacter: "not a number"
        }
    }
}

/// Why a JSON line could not be read.
public enum JSONError: Error, Hashable, Sendable {
    case expectedObject, unterminatedString, expectedColon, expectedCommaOrEnd, badValue
    case trailingCharacters, duplicateKey, escapedKey, typeNotString, nestingTooDeep

    public var message: String {
        switch self {
        case .expectedObject: "expected an object"
        case .unterminatedString: "unterminated string"
        case .expectedColon: "expected ':'"
        case .expectedCommaOrEnd: "expected ',' or '}'"
        case .badValue: "bad value"
        case .trailingCharacters: "characters after the object"
        case .duplicateKey: "duplicate key"
        case .escapedKey: "escape sequences in keys are not supported"
        case .typeNotString: "type must be a string"
        case .nestingTooDeep: "nesting too deep"
        }
    }
}

/// What one input line is.
public enum ParsedLine: Hashable, Sendable {
    case transaction(Transaction)
    /// A blank line or the CSV header: no reply, no count.
    case skip
    case malformed(ParseError)
}

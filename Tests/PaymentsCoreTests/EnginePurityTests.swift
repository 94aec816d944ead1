import Foundation
import Testing

/// The engine is pure Swift: no Foundation, and Glibc only for `calloc`/`free` in the transaction
/// table (zero-filled pages on demand). This reads the engine's sources and fails on anything else.
@Suite struct EnginePurityTests {
    static let engineDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/PaymentsCore")

    /// Every engine source file, comments removed (so prose may mention anything).
    func sources() throws -> [(name: String, code: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.engineDirectory.path)
            .filter { $0.hasSuffix(".swift") }.sorted()
        return try names.map { name in
            let text = try String(contentsOf: Self.engineDirectory.appendingPathComponent(name), encoding: .utf8)
            return (name, Self.stripComments(text))
        }
    }

    static func stripComments(_ text: String) -> String {
        var out = ""
        var inBlock = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var kept = ""
            var chars = Array(line)[...]
            while let c = chars.first {
                if inBlock > 0 {
                    if chars.starts(with: "*/") { inBlock -= 1; chars = chars.dropFirst(2) } else { chars = chars.dropFirst() }
                } else if chars.starts(with: "/*") {
                    inBlock += 1; chars = chars.dropFirst(2)
                } else if chars.starts(with: "//") {
                    break
                } else {
                    kept.append(c); chars = chars.dropFirst()
                }
            }
            out += kept + "\n"
        }
        return out
    }

    /// The module names of every `import` line, whatever its attributes and access level.
    static func importedModules(_ code: String) -> [String] {
        code.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let i = words.firstIndex(of: "import"), i + 1 < words.count else { return nil }
            // `import struct Foundation.Data` names the module after the kind.
            let kinds: Set = ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"]
            let target = kinds.contains(words[i + 1]) && i + 2 < words.count ? words[i + 2] : words[i + 1]
            return String(target.split(separator: ".").first ?? "")
        }
    }

    @Test func theEngineSourcesAreFound() throws {
        let files = try sources()
        #expect(files.map(\.name).contains("Ledger.swift"))
        #expect(files.map(\.name).contains("TransactionTable.swift"))
        #expect(files.count >= 5)
    }

    @Test func noFileImportsFoundation() throws {
        for (name, code) in try sources() {
            for module in Self.importedModules(code) {
                #expect(!module.hasPrefix("Foundation"), "\(name) imports \(module)")
                #expect(!["Dispatch", "Darwin", "Musl", "CoreFoundation"].contains(module), "\(name) imports \(module)")
            }
        }
    }

    @Test func onlyTheTransactionTableImportsGlibc() throws {
        for (name, code) in try sources() where name != "TransactionTable.swift" {
            #expect(!Self.importedModules(code).contains("Glibc"), "\(name) imports Glibc")
        }
    }

    /// In the transaction table, every free function or initialiser called must be declared in the
    /// engine itself or be a known standard-library name; from the C library only calloc and free.
    @Test func theTransactionTableCallsNothingFromGlibcButCallocAndFree() throws {
        let files = try sources()
        guard let table = files.first(where: { $0.name == "TransactionTable.swift" })?.code else {
            Issue.record("TransactionTable.swift not found"); return
        }
        let all = files.map(\.code).joined(separator: "\n")
        let declared = Self.declaredNames(all)
        let standard: Set = [
            "Int", "UInt8", "UInt16", "UInt32", "UInt64", "Int64", "Bool", "precondition", "fatalError",
            "assert", "min", "max", "UnsafeMutablePointer", "UnsafeMutableRawPointer", "MemoryLayout",
            "init", "if", "while", "for", "switch", "guard", "return", "stride",
            "let", "var", "private", "fileprivate", "internal", "public", "case", "where", "in",
            "exclusivity",  // the `@exclusivity(unchecked)` attribute, not a call
        ]
        var foreign = Set<String>()
        for call in Self.freeCalls(table) where !declared.contains(call) && !standard.contains(call) {
            foreign.insert(call)
        }
        #expect(foreign.subtracting(["calloc", "free"]).isEmpty, "TransactionTable.swift calls \(foreign.sorted())")
        #expect(foreign.contains("calloc") && foreign.contains("free"), "the checker sees calloc and free")
        // Qualified uses (`Glibc.open(...)`) are checked too.
        for line in table.split(separator: "\n") where line.contains("Glibc.") {
            #expect(line.contains("Glibc.calloc") || line.contains("Glibc.free"), "\(line)")
        }
    }

    /// Identifiers directly followed by `(` and not preceded by `.`: free functions and initialisers.
    static func freeCalls(_ code: String) -> Set<String> {
        let chars = Array(code)
        var result = Set<String>()
        var i = 0
        while i < chars.count {
            if chars[i].isLetter || chars[i] == "_" {
                let start = i
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
                let afterDot = start > 0 && chars[start - 1] == "."
                var j = i
                while j < chars.count, chars[j] == " " { j += 1 }
                if !afterDot, j < chars.count, chars[j] == "(" { result.insert(String(chars[start..<i])) }
            } else if chars[i] == "\"" {
                i += 1
                while i < chars.count, chars[i] != "\"" { i += 1 }
                i += 1
            } else {
                i += 1
            }
        }
        return result
    }

    /// Names the engine declares: types, functions, cases, properties.
    static func declaredNames(_ code: String) -> Set<String> {
        var result = Set<String>()
        let words = code.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init)
        let introducers: Set = ["func", "struct", "class", "enum", "case", "var", "let", "typealias", "protocol"]
        for (i, w) in words.enumerated() where introducers.contains(w) && i + 1 < words.count {
            result.insert(words[i + 1])
        }
        // Parameter names and labels (`_ body: (...)`): an identifier followed by a colon.
        let chars = Array(code)
        var i = 0
        while i < chars.count {
            guard chars[i].isLetter || chars[i] == "_" else { i += 1; continue }
            let start = i
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
            if i < chars.count, chars[i] == ":" { result.insert(String(chars[start..<i])) }
        }
        return result
    }

    @Test func theCheckerWouldCatchAForbiddenCall() {
        let bad = "import Glibc\nfunc f() { let fd = open(\"/x\", 0); _ = write(fd, nil, 0); free(nil) }\n"
        let calls = Self.freeCalls(Self.stripComments(bad))
        #expect(calls.contains("open") && calls.contains("write"))
        #expect(Self.importedModules("@preconcurrency public import Foundation\nimport struct FoundationEssentials.Data")
            == ["Foundation", "FoundationEssentials"])
        #expect(Self.freeCalls(Self.stripComments("// open(x)\n/* write(y) */ let z = 1")).isEmpty)
    }
}

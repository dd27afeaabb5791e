// Component configs read from each folder's config.json. Every size is range-checked, so a config
// with absurd values fails with a message instead of an enormous allocation. Keys absent from the file
// take the reference class's defaults (diffusers / transformers __init__ signatures).
import Foundation
import SDCore

/// JSON booleans arrive as a distinct class; on Linux an integer NSNumber also casts to Bool,
/// so `is Bool` cannot tell them apart.
func isJSONBool(_ v: Any) -> Bool { String(describing: type(of: v)).contains("Boolean") || type(of: v) == Bool.self }

/// Typed, validated access to one config.json object.
public struct ConfigReader {
    public let path: String
    public let dict: [String: Any]

    public init(path: String) throws {
        guard let bytes = try FileInput.readIfPresent(path, limit: FileInput.metadataLimit, regularOnly: true) else {
            throw SDError.missingModel("\(path): config file not found")
        }
        let data = Data(bytes)
        guard let obj = try? JSONSerialization.jsonObject(with: data), let d = obj as? [String: Any] else {
            throw SDError.badFile(path: path, message: "not a JSON object")
        }
        self.path = path
        dict = d
    }

    public init(dict: [String: Any], path: String) {
        self.dict = dict
        self.path = path
    }

    func bad(_ key: String, _ msg: String) -> SDError { .badFile(path: path, message: "\(key): \(msg)") }

    public func present(_ key: String) -> Any? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        return v
    }

    public func int(_ key: String, default d: Int? = nil, range: ClosedRange<Int> = 0...65536) throws -> Int {
        guard let v = present(key) else {
            if let d = d { return d }
            throw bad(key, "missing")
        }
        guard let n = v as? NSNumber, !isJSONBool(v), n.doubleValue == n.doubleValue.rounded() else { throw bad(key, "not an integer") }
        guard abs(n.doubleValue) <= 1e15 else { throw bad(key, "\(n.doubleValue) is outside \(range.lowerBound)…\(range.upperBound)") }
        let i = n.intValue
        guard range.contains(i) else { throw bad(key, "\(i) is outside \(range.lowerBound)…\(range.upperBound)") }
        return i
    }

    public func optionalInt(_ key: String, range: ClosedRange<Int> = 0...65536) throws -> Int? {
        present(key) == nil ? nil : try int(key, range: range)
    }

    public func double(_ key: String, default d: Double? = nil, range: ClosedRange<Double> = -1e9...1e9) throws -> Double {
        guard let v = present(key) else {
            if let d = d { return d }
            throw bad(key, "missing")
        }
        guard let n = v as? NSNumber, !isJSONBool(v) else { throw bad(key, "not a number") }
        guard range.contains(n.doubleValue) else { throw bad(key, "\(n.doubleValue) is outside \(range)") }
        return n.doubleValue
    }

    public func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = present(key) else { return d }
        guard isJSONBool(v), let b = v as? Bool else { throw bad(key, "not a boolean") }
        return b
    }

    public func string(_ key: String, default d: String? = nil) throws -> String {
        guard let v = present(key) else {
            if let d = d { return d }
            throw bad(key, "missing")
        }
        guard let s = v as? String else { throw bad(key, "not a string") }
        return s
    }

    public func optionalString(_ key: String) throws -> String? {
        present(key) == nil ? nil : try string(key)
    }

    public func strings(_ key: String, default d: [String]? = nil) throws -> [String] {
        guard let v = present(key) else {
            if let d = d { return d }
            throw bad(key, "missing")
        }
        guard let a = v as? [String], a.count <= 64 else { throw bad(key, "not a list of strings") }
        return a
    }

    /// A list of integers; a single integer is repeated `count` times (diffusers' int-or-tuple fields).
    public func ints(_ key: String, count: Int, default d: [Int]? = nil, range: ClosedRange<Int> = 0...65536) throws -> [Int] {
        guard let v = present(key) else {
            if let d = d { return d }
            throw bad(key, "missing")
        }
        // An integral JSON number in range (1.5, 1e30 and booleans are not).
        func integer(_ x: Any) throws -> Int {
            guard let n = x as? NSNumber, !isJSONBool(x), n.doubleValue == n.doubleValue.rounded(),
                  abs(n.doubleValue) <= 1e15, range.contains(n.intValue) else { throw bad(key, "bad entry \(x)") }
            return n.intValue
        }
        if v is NSNumber {
            // count < 0 (any length): a single number is a list of one (a fuzzer found the trap).
            return Array(repeating: try integer(v), count: count < 0 ? 1 : count)
        }
        guard let a = v as? [Any], a.count == count || (count < 0 && a.count <= 64) else {
            throw bad(key, count < 0 ? "expected a list of at most 64 integers" : "expected \(count) integers")
        }
        return try a.map(integer)
    }

    /// A list of booleans; a single boolean is repeated `count` times.
    public func bools(_ key: String, count: Int, default d: Bool) throws -> [Bool] {
        guard let v = present(key) else { return Array(repeating: d, count: count) }
        if isJSONBool(v), let b = v as? Bool { return Array(repeating: b, count: count) }
        guard let a = v as? [Any], a.count == count, a.allSatisfy(isJSONBool) else { throw bad(key, "expected \(count) booleans") }
        return a.map { $0 as! Bool }
    }
}

/// Reject configs whose channel counts would allocate absurd amounts (a hostile or corrupt file).
func checkChannels(_ r: ConfigReader, _ key: String, _ values: [Int]) throws {
    for v in values where v < 1 || v > 8192 {
        throw SDError.badFile(path: r.path, message: "\(key): \(v) is outside 1…8192")
    }
}

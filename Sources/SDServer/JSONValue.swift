// Arbitrary JSON (A1111's `override_settings`, `options` and the `parameters` echo are free-form
// dicts in modules/api/models.py), kept in key order so an echo reads like the request.
import Foundation

public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
            self = .array(items)
        } else if let object = try? decoder.container(keyedBy: Key.self) {
            self = .object(try object.allKeys.map { ($0.stringValue, try object.decode(JSONValue.self, forKey: $0)) })
        } else {
            let v = try decoder.singleValueContainer()
            if v.decodeNil() { self = .null }
            else if let b = try? v.decode(Bool.self) { self = .bool(b) }
            else if let d = try? v.decode(Double.self) { self = .number(d) }
            else { self = .string(try v.decode(String.self)) }
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .null: var v = encoder.singleValueContainer(); try v.encodeNil()
        case .bool(let b): var v = encoder.singleValueContainer(); try v.encode(b)
        case .number(let d):
            var v = encoder.singleValueContainer()
            // Integers stay integers (seed, steps), as Python's json writes them.
            if d.rounded() == d, abs(d) < 9.0e15 { try v.encode(Int64(d)) } else { try v.encode(d) }
        case .string(let s): var v = encoder.singleValueContainer(); try v.encode(s)
        case .array(let a): var v = encoder.unkeyedContainer(); for x in a { try v.encode(x) }
        case .object(let o):
            var v = encoder.container(keyedBy: Key.self)
            for (k, x) in o { try v.encode(x, forKey: Key(stringValue: k)) }
        }
    }

    /// The value under `key` of an object, else nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o.last(where: { $0.0 == key })?.1 }
        return nil
    }

    /// An object with `key` set to `value` (replaced in place when present, else appended).
    public func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var o) = self else { return self }
        if let i = o.firstIndex(where: { $0.0 == key }) { o[i].1 = value } else { o.append((key, value)) }
        return .object(o)
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
}

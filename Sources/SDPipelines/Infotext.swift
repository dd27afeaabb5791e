// AUTOMATIC1111's infotext (the PNG "parameters" text) read back into fields, as
// modules/infotext_utils.py parse_generation_parameters does: the prompt, "Negative prompt: …", and
// a last line of `Key: value` pairs (values may be "quoted" with \" escapes); a WxH value such as
// Size's becomes Key-1 and Key-2 instead.
import Foundation

public enum Infotext {
    /// (key, value) pairs: "Prompt", "Negative prompt", then the parameters line in order.
    public static func parse(_ text: String) -> [(String, String)] {
        var lines = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var params: [(String, String)] = []
        if let last = lines.last {
            let pairs = pairs(last)
            // A1111 takes the last line as parameters when it holds at least three pairs.
            if pairs.count >= 3 { params = pairs; lines.removeLast() }
        }
        var prompt: [String] = [], negative: [String] = []
        var inNegative = false
        for l in lines {
            if l.hasPrefix("Negative prompt:") { inNegative = true; negative.append(String(l.dropFirst(16)).trimmingCharacters(in: .whitespaces)); continue }
            if inNegative { negative.append(l) } else { prompt.append(l) }
        }
        var out: [(String, String)] = [("Prompt", prompt.joined(separator: "\n")), ("Negative prompt", negative.joined(separator: "\n"))]
        for (k, v) in params {
            let wh = v.split(separator: "x", omittingEmptySubsequences: false)
            if wh.count == 2, wh.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) {
                out += [("\(k)-1", String(wh[0])), ("\(k)-2", String(wh[1]))]
            } else {
                out.append((k, v))
            }
        }
        return out
    }

    /// `Key: value, Key: "quoted, value", …` → pairs; a piece without ": " ends the scan.
    static func pairs(_ line: String) -> [(String, String)] {
        var out: [(String, String)] = []
        var s = Substring(line)
        while !s.isEmpty {
            s = s.drop(while: { $0 == " " })
            guard let colon = s.range(of: ": ") else { break }
            let key = String(s[..<colon.lowerBound])
            // A1111's key pattern: [\w ]+.
            guard !key.isEmpty, key.allSatisfy({ $0 == " " || $0 == "_" || $0.isLetter || $0.isNumber }) else { break }
            s = s[colon.upperBound...]
            var value = ""
            if s.first == "\"" {
                s = s.dropFirst()
                var escaped = false
                while let c = s.first {
                    s = s.dropFirst()
                    if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { value.append(c) }
                }
                if let comma = s.firstIndex(of: ",") { s = s[s.index(after: comma)...] } else { s = "" }
            } else if let comma = s.firstIndex(of: ",") {
                value = String(s[..<comma]); s = s[s.index(after: comma)...]
            } else {
                value = String(s); s = ""
            }
            out.append((key, value.trimmingCharacters(in: .whitespaces)))
        }
        return out
    }
}

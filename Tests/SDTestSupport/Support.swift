// Fixture access and tensor comparison for all test targets.
// Fixtures are written by scripts/make_fixtures.py (pinned versions in scripts/requirements.txt).
import Foundation
import SDCore
import XCTest

public enum Fixtures {
    /// <repo>/fixtures, found from this source file's location.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures").path
    }()

    /// Also records the environment's kernel plan (TestEnvironment) before the first fixture is read.
    public static func path(_ relative: String) -> String {
        _ = TestEnvironment.applied
        return root + "/" + relative
    }

    public static func file(_ relative: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: path(relative))
    }
}

/// Largest absolute difference, and whether every element is within tolerance.
public func compare(_ a: Tensor, _ b: Tensor, _ tol: Tolerance) -> (maxAbs: Float, ok: Bool, worst: Int) {
    var maxAbs: Float = 0, ok = true, worst = -1
    for i in 0..<min(a.count, b.count) {
        let d = abs(a.storage[i] - b.storage[i])
        if !(d <= tol.atol + tol.rtol * abs(b.storage[i])) { ok = false; if worst < 0 { worst = i } }
        if d > maxAbs || d.isNaN { maxAbs = d; if worst < 0 && d.isNaN { worst = i } }
    }
    return (maxAbs, ok && a.count == b.count, worst)
}

/// Assert that `actual` matches `expected` in shape and within `tol`.
public func assertClose(_ actual: Tensor, _ expected: Tensor, _ tol: Tolerance, _ name: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(name): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let r = compare(actual, expected, tol)
    XCTAssertTrue(r.ok, "\(name): max |Δ| = \(r.maxAbs) exceeds \(tol); first bad element \(r.worst): "
                  + "\(r.worst >= 0 ? actual.storage[r.worst] : 0) vs \(r.worst >= 0 ? expected.storage[r.worst] : 0)",
                  file: file, line: line)
}

/// One end-to-end case of a pipeline fixture (fixtures/<job>/pipeline_cases.json, written by the
/// scripts/fixtures_<job>.py case lists); fields a job does not use are absent.
public struct PipelineCase: Decodable {
    public let name: String
    public let scheduler: String
    public let width: Int, height: Int
    public let steps: Int
    public let guidance: Double
    public let strength: Double?
    public let seed: Int
    public let negative: String?
    public let depthMap: Bool?
    public let noiseLevel: Int?

    enum CodingKeys: String, CodingKey {
        case name, scheduler, width, height, steps, guidance, strength, seed, negative
        case depthMap = "depth_map", noiseLevel = "noise_level"
    }

    public static func load(_ relative: String) throws -> [PipelineCase] {
        try JSONDecoder().decode([PipelineCase].self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path(relative))))
    }
}

/// A copy of the safetensors file `path` in `dir` with `edit` applied to its float tensors (integer
/// buffers are dropped), for tests of broken or partial checkpoints; returns the copy's path.
public func rewrittenSafetensors(_ path: String, in dir: String, _ edit: (inout [String: Tensor]) -> Void) throws -> String {
    let f = try SafetensorsFile(path: path)
    var all: [String: Tensor] = [:]
    for k in f.keys where f.info(k)!.dtype != .i64 && f.info(k)!.dtype != .i32 { all[k] = try f.tensor(k) }
    edit(&all)
    let out = dir + "/" + ((path as NSString).lastPathComponent as NSString).deletingPathExtension + "-\(UUID().uuidString).safetensors"
    try writeSafetensors(all, to: out)
    return out
}

// The sdedit binary as the CLI tests run it: found next to the test bundle, in a scratch folder.
import Foundation
import SDTestSupport
import XCTest

/// Runs the built sdedit binary in a scratch folder (the base of the CLI test classes).
class CLITestCase: XCTestCase {
    /// The sdedit executable next to the test bundle (swift test builds it).
    var binary: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        for config in ["debug", "release"] {
            let p = url.appendingPathComponent(".build/\(config)/sdedit").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return url.appendingPathComponent(".build/debug/sdedit").path
    }

    let model = Fixtures.path("models/tiny-sd2-inpainting")
    let photo = Fixtures.path("../demo/photo.png"), mask = Fixtures.path("../demo/mask.png")
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "/sdedit-cli-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "sdedit binary not built")
    }
    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: cacheDir)
    }

    /// The finite-check record's folder for this test, beside the scratch folder.
    var cacheDir: String { dir + ".cache" }

    /// The tests' environment with $SDEDIT set and the finite-check record kept in the scratch
    /// folder, so a test run never writes to the user's ~/.cache.
    var environment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["SDEDIT": binary, "SDEDIT_CACHE_DIR": cacheDir]) { $1 }
    }

    @discardableResult
    func run(_ args: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, o, String(decoding: e, as: UTF8.self))
    }

    func inpaint(_ extra: [String], image: String? = nil, mask m: String? = nil, model chosen: String? = nil) throws -> (status: Int32, stdout: Data, stderr: String) {
        try run(["inpaint", image ?? photo, m ?? mask, "a red brick wall", "--model", chosen ?? model, "--steps", "2", "--seed", "3"] + extra)
    }

    /// `script` run by /bin/sh with $SDEDIT set to the binary; returns (exit status, stderr).
    func shell(_ script: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.environment = environment
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }
}

// Values one component's files must agree with in another's, checked when the model loads, before
// any kernel runs (issue 10): each used to read past a table or mis-shape a tensor mid-step. Every
// case is a copy of the tiny model with one key changed; the error names the file and the key.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class ConfigAgreementTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "/sdedit-cfg-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A copy of fixture model `name` with `key` of `file` set to `value`.
    func variant(_ name: String, _ file: String, _ key: String, _ value: Any) throws -> String {
        let folder = dir + "/" + UUID().uuidString
        // cp -RL: the fixture models share files through relative symlinks.
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-RL", Fixtures.path("models/" + name), folder]
        try cp.run()
        cp.waitUntilExit()
        XCTAssertEqual(cp.terminationStatus, 0)
        let url = URL(fileURLWithPath: folder + "/" + file)
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        obj[key] = value
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
        return folder
    }

    func assertBadFile(_ body: @autoclosure () throws -> Any, file: String, mentions: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { e in
            guard case let SDError.badFile(path, message) = e else { return XCTFail("\(e) is not a data error", line: line) }
            XCTAssertTrue(path.hasSuffix(file), "\(path) should name \(file)", line: line)
            XCTAssertTrue(message.contains(mentions), "\(message) should mention \(mentions)", line: line)
        }
    }

    func testInpaintingModelDisagreements() throws {
        let m = "tiny-sd2-inpainting"
        assertBadFile(try StableDiffusionModel(folder: variant(m, "vae/config.json", "out_channels", 8)),
                      file: "vae/config.json", mentions: "out_channels 8")
        assertBadFile(try StableDiffusionModel(folder: variant(m, "unet/config.json", "out_channels", 8)),
                      file: "unet/config.json", mentions: "out_channels 8")
        assertBadFile(try StableDiffusionModel(folder: variant(m, "tokenizer/tokenizer_config.json", "model_max_length", 100)),
                      file: "tokenizer/tokenizer_config.json", mentions: "model_max_length 100")
        assertBadFile(try StableDiffusionModel(folder: variant(m, "tokenizer/vocab.json", "zzzz</w>", 60000)),
                      file: "tokenizer/vocab.json", mentions: "token ids reach 60000")
        assertBadFile(try StableDiffusionModel(folder: variant(m, "unet/config.json", "norm_num_groups", 7)),
                      file: "unet/config.json", mentions: "norm_num_groups 7")
    }

    func testUpscalerNoiseLevelTable() throws {
        let folder = try variant("tiny-sd2-x4-upscaler", "low_res_scheduler/scheduler_config.json", "num_train_timesteps", 100)
        assertBadFile(try UpscalePipeline(model: StableDiffusionModel(folder: folder)),
                      file: "model_index.json", mentions: "max_noise_level 350")
    }

    /// A single number where diffusers allows an int-or-list (a fuzzer found `"block_out_channels": 1.0`
    /// trapping in Array(repeating:count: -1)); non-integral numbers are refused.
    func testNumberWhereAListIsExpected() throws {
        let ok = ConfigReader(dict: ["block_out_channels": 64], path: "c.json")
        XCTAssertEqual(try VAEConfig(ok).blockOutChannels, [64])
        let frac = ConfigReader(dict: ["block_out_channels": 1.5], path: "c.json")
        XCTAssertThrowsError(try VAEConfig(frac))
        let huge = ConfigReader(dict: ["layers_per_block": 1e30], path: "c.json")
        XCTAssertThrowsError(try VAEConfig(huge))
    }
}

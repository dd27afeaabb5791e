// AutoencoderTiny (TAESD) against diffusers on a tiny random model with taesd's layout (four levels,
// blocks (1, 3, 3, 3) / (3, 3, 3, 1), 8 channels): encode and decode, from the diffusers folder and from
// the original madebyollin/taesd file layout (taesd_encoder / taesd_decoder .safetensors).
// Fixtures: scripts/make_fixtures.py fewstep (fixtures_fewstep.py) → fixtures/fewstep/goldens.safetensors,
// fixtures/models/tiny-taesd, tiny-taesd-original.
import SDCore
import SDModels
import SDTestSupport
import XCTest

final class AutoencoderTinyTests: XCTestCase {
    func check(encoder: TinyEncoder?, decoder: TinyDecoder?, _ what: String) throws {
        let f = try Fixtures.file("fewstep/goldens.safetensors")
        if let e = encoder {
            let got = e(try f.tensor("taesd.x")), want = try f.tensor("taesd.latents")
            print("TAESD \(what) encode: max \(compare(got, want, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.model, "\(what) encode")
        }
        if let d = decoder {
            let got = d(try f.tensor("taesd.z")), want = try f.tensor("taesd.decoded")
            print("TAESD \(what) decode: max \(compare(got, want, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.model, "\(what) decode")
        }
    }

    func testFolderMatchesDiffusers() throws {
        let taesd = try TinyAutoencoderSource.load(Fixtures.path("models/tiny-taesd"))
        XCTAssertEqual(taesd.config.scalingFactor, 1)
        XCTAssertEqual(taesd.config.encoderScale, 8)
        XCTAssertEqual(taesd.config.decoderScale, 8)
        try check(encoder: XCTUnwrap(taesd.encoder), decoder: XCTUnwrap(taesd.decoder), "folder")
    }

    func testOriginalFilesMatchDiffusers() throws {
        let enc = try TinyAutoencoderSource.load(Fixtures.path("models/tiny-taesd-original/taesd_encoder.safetensors"))
        let dec = try TinyAutoencoderSource.load(Fixtures.path("models/tiny-taesd-original/taesd_decoder.safetensors"))
        XCTAssertNil(enc.decoder)
        XCTAssertNil(dec.encoder)
        XCTAssertEqual(enc.config.encoderChannels, [8, 8, 8, 8])   // read from the file's first conv
        try check(encoder: enc.encoder, decoder: dec.decoder, "original files")
    }

    func testNotATAESDIsRefused() throws {
        XCTAssertThrowsError(try TinyAutoencoderSource.load(Fixtures.path("models/tiny-sd2-inpainting/vae"))) { e in
            XCTAssertTrue("\(e)".contains("AutoencoderTiny"), "\(e)")
        }
        XCTAssertThrowsError(try TinyAutoencoderSource.load(Fixtures.path("models/tiny-sd2-inpainting/vae/nothing.safetensors")))
        XCTAssertThrowsError(try TinyAutoencoderSource.load(Fixtures.path("models/tiny-taesd-original"))) { e in
            XCTAssertTrue("\(e)".contains("name the file: taesd_encoder.safetensors"), "\(e)")
        }
        XCTAssertThrowsError(try TinyAutoencoderSource.load(Fixtures.path("models/single/tiny-sd21-base.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("not a TAESD file"), "\(e)")
        }
    }
}

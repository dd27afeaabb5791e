// safetensors: dtype conversion against files written by the safetensors package, and hostile
// headers crafted here byte by byte (each must be a clean SDError naming the file, never a crash).
// Fixtures: scripts/make_fixtures.py core → core/dtypes*.safetensors.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    func testDtypesConvertToFloat32() throws {
        let f = try Fixtures.file("core/dtypes.safetensors")
        let e = try Fixtures.file("core/dtypes_expected.safetensors")
        XCTAssertEqual(f.info("h")?.dtype, .f16)
        XCTAssertEqual(f.info("b")?.dtype, .bf16)
        XCTAssertEqual(f.info("i")?.dtype, .i64)
        XCTAssertEqual(f.metadata["format"], "pt")
        for k in ["h", "b", "i", "f"] { assertClose(try f.tensor(k), try e.tensor(k), Tolerances.exact, k) }
        XCTAssertEqual(f.keys, ["b", "f", "h", "i"])
    }

    func testHalfConversionSpecialValues() {
        XCTAssertEqual(halfToFloat(0x3c00), 1)
        XCTAssertEqual(halfToFloat(0xc000), -2)
        XCTAssertEqual(halfToFloat(0x7bff), 65504)
        XCTAssertEqual(halfToFloat(0x0001), 5.9604645e-08)
        XCTAssertEqual(halfToFloat(0x7c00), .infinity)
        XCTAssertTrue(halfToFloat(0x7e00).isNaN)
        XCTAssertEqual(halfToFloat(0x8000).sign, .minus)
    }

    func testRoundTripWriter() throws {
        let path = NSTemporaryDirectory() + "/rt-\(getpid()).safetensors"
        defer { unlink(path) }
        let a = Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        try writeSafetensors(["a": a, "s": Tensor(shape: [], storage: [7])], to: path)
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(try f.tensor("a"), a)
        XCTAssertEqual(try f.tensor("s").storage, [7])
        XCTAssertThrowsError(try f.tensor("missing")) { e in
            XCTAssertTrue("\(e)".contains("missing") && "\(e)".contains(path))
        }
    }

    /// Build a file from a header string and a data section.
    func file(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) throws -> String {
        let path = NSTemporaryDirectory() + "/bad-\(getpid())-\(UUID().uuidString).safetensors"
        var bytes = [UInt8]()
        var n = (headerLength ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertRejected(_ header: String, data: [UInt8] = [], headerLength: UInt64? = nil, mentions: String,
                        line: UInt = #line) throws {
        let path = try file(header: header, data: data, headerLength: headerLength)
        defer { unlink(path) }
        XCTAssertThrowsError(try SafetensorsFile(path: path), line: line) { e in
            guard case let SDError.badFile(p, msg) = e else { return XCTFail("unexpected \(e)", line: line) }
            XCTAssertEqual(p, path, line: line)
            XCTAssertTrue(msg.contains(mentions), "message '\(msg)' should mention '\(mentions)'", line: line)
        }
    }

    func testHostileHeadersFailCleanly() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        // Header length beyond the file, and absurdly large.
        try assertRejected("{}", headerLength: 4096, mentions: "header length")
        try assertRejected("{}", headerLength: UInt64.max, mentions: "header length")
        // Not JSON / not an object.
        try assertRejected("[1, 2]", mentions: "JSON object")
        try assertRejected("{\"a\": ", mentions: "JSON object")
        // Offsets past the end of the data (truncated file).
        try assertRejected(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight, mentions: "past the end")
        // Size that disagrees with dtype × shape.
        try assertRejected(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight, mentions: "needs 12 bytes")
        // Overflowing shape.
        try assertRejected(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#,
                           data: eight, mentions: "overflows")
        // Negative and reversed offsets, negative dims, unknown dtype, overlaps.
        try assertRejected(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: eight, mentions: "data_offsets")
        try assertRejected(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: eight, mentions: "data_offsets")
        try assertRejected(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: eight, mentions: "dimension")
        try assertRejected(#"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}"#, data: eight, mentions: "dtype")
        try assertRejected(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                           data: eight, mentions: "overlaps")
        try assertRejected(#"{"w":{"dtype":"F32","shape":[1]}}"#, data: eight, mentions: "missing")
    }

    func testShortAndMissingFiles() throws {
        let path = try file(header: "", headerLength: 0)
        defer { unlink(path) }
        XCTAssertThrowsError(try SafetensorsFile(path: path))
        let tiny = NSTemporaryDirectory() + "/tiny-\(getpid())"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tiny))
        defer { unlink(tiny) }
        XCTAssertThrowsError(try SafetensorsFile(path: tiny)) { e in XCTAssertTrue("\(e)".contains("too short")) }
        XCTAssertThrowsError(try SafetensorsFile(path: "/nonexistent/x.safetensors")) { e in
            guard case SDError.io = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try SafetensorsFile(path: NSTemporaryDirectory())) { e in
            XCTAssertTrue("\(e)".contains("directory"))
        }
    }

    /// A FIFO where a weights file should be is refused at once instead of blocking in open() (issue 10).
    func testFIFOIsRefusedWithoutBlocking() throws {
        let path = NSTemporaryDirectory() + "/sdedit-fifo-\(getpid()).safetensors"
        unlink(path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { unlink(path) }
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { e in
            guard case SDError.badFile(_, let message) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(message.contains("not a regular file"), message)
        }
    }
}

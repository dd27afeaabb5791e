import Foundation
import SDCore
@testable import SDModels
import XCTest

/// The record of mapped weights found finite: an unchanged file is not scanned again, a changed one
/// is, and a record that is missing, unreadable or switched off only costs the scan.
final class FiniteCheckRecordTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "/finite-record-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func store(_ path: String, _ record: FiniteCheckRecord?) throws -> WeightStore {
        let s = try WeightStore(files: [path], name: "test")
        s.finiteRecord = record
        return s
    }

    /// A finite 2×2 weight `w` written to a file and loaded once through a record (settle 0).
    func loadOnceRecorded() throws -> String {
        let path = dir + "/w.safetensors"
        try writeSafetensors(["w": Tensor(shape: [2, 2], storage: [1, 2, 3, 4])], to: path)
        let s = try store(path, FiniteCheckRecord(directory: dir + "/cache", settle: 0))
        _ = try s.loadGemm("w", shape: [2, 2])
        try s.checkAllUsed()
        return path
    }

    func testCheckedKeysAreRecordedAndSurviveTheProcess() throws {
        let path = try loadOnceRecorded()
        let id = try SafetensorsFile(path: path).identity
        // A new record (another process) reads what was saved.
        XCTAssertTrue(FiniteCheckRecord(directory: dir + "/cache").contains(id, "w"))
        XCTAssertFalse(FiniteCheckRecord(directory: dir + "/cache").contains(id, "other"))
    }

    func testChangedFileIsScannedAgain() throws {
        let path = try loadOnceRecorded()
        // The last value overwritten in place with NaN: same file, same size, new ctime.
        usleep(50_000)
        let h = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try h.seek(toOffset: UInt64(try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) - 4))
        h.write(Data(withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) }))
        try h.close()
        XCTAssertThrowsError(try store(path, FiniteCheckRecord(directory: dir + "/cache", settle: 0)).loadGemm("w", shape: [2, 2])) { e in
            XCTAssertTrue("\(e)".contains("weight w has 1 non-finite"), "\(e)")
        }
    }

    func testARecordedKeyIsNotScanned() throws {
        // What the record is for: a key it holds for the file as it is now is trusted without the
        // pass. (A NaN written under a matching record cannot happen: the write changes the ctime.)
        let path = dir + "/nan.safetensors"
        try writeSafetensors(["w": Tensor(shape: [2, 2], storage: [1, .nan, 3, 4])], to: path)
        let record = FiniteCheckRecord(directory: dir + "/cache", settle: 0)
        XCTAssertThrowsError(try store(path, record).loadGemm("w", shape: [2, 2]))
        record.insert(try SafetensorsFile(path: path).identity, "w")
        XCTAssertNoThrow(try store(path, record).loadGemm("w", shape: [2, 2]))
        XCTAssertThrowsError(try store(path, nil).loadGemm("w", shape: [2, 2]))
    }

    func testFilesChangedJustNowAreNotRecorded() throws {
        let path = dir + "/w.safetensors"
        try writeSafetensors(["w": Tensor(shape: [1], storage: [1])], to: path)
        let record = FiniteCheckRecord(directory: dir + "/cache", settle: 60)
        let id = try SafetensorsFile(path: path).identity
        record.insert(id, "w")
        XCTAssertFalse(record.contains(id, "w"))
        record.save()
        XCTAssertFalse(FileManager.default.fileExists(atPath: record.path))
    }

    func testUnreadableRecordIsIgnoredAndReplaced() throws {
        let path = dir + "/w.safetensors"
        try writeSafetensors(["w": Tensor(shape: [1], storage: [1])], to: path)
        try FileManager.default.createDirectory(atPath: dir + "/cache", withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: dir + "/cache/finite-checked.json"))
        let record = FiniteCheckRecord(directory: dir + "/cache", settle: 0)
        let id = try SafetensorsFile(path: path).identity
        XCTAssertFalse(record.contains(id, "w"))
        record.insert(id, "w")
        record.save()
        XCTAssertTrue(FiniteCheckRecord(directory: dir + "/cache").contains(id, "w"))
    }

    func testWhereTheRecordLives() {
        XCTAssertNil(FiniteCheckRecord.directory(environment: ["SDEDIT_CACHE_DIR": "", "HOME": "/home/u"]))
        XCTAssertEqual(FiniteCheckRecord.directory(environment: ["SDEDIT_CACHE_DIR": "/c", "HOME": "/home/u"]), "/c")
        XCTAssertEqual(FiniteCheckRecord.directory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/home/u"]), "/x/sdedit")
        XCTAssertEqual(FiniteCheckRecord.directory(environment: ["HOME": "/home/u"]), "/home/u/.cache/sdedit")
        XCTAssertNil(FiniteCheckRecord.directory(environment: [:]))
    }
}

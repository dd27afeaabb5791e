// The record of mapped weights already found finite. Every fp32 weight a model maps is scanned for
// NaN and Inf once (WeightStore.loadGemm): on a warm page cache that scan is a pass over the whole
// checkpoint (4.8 GB for SD 2.x's text encoder and UNet) and most of the load. A file whose weights
// were scanned, and which has not changed since, need not be scanned again: the record keeps, per
// file (device and inode), its size, mtime and ctime (any write to the file changes its ctime, and
// user space cannot set ctime) and the keys found finite. A1111 keeps its model hashes the same way
// (modules/hashes.py: cache.json keyed by the file's mtime).
// Files changed within the last `settle` seconds are not recorded: a timestamp taken while a file
// is still being written may not change again with the last write (coarse timestamps).
// Location (chosen by the application, directory(environment:)): $SDEDIT_CACHE_DIR (empty: no
// record), else $XDG_CACHE_HOME/sdedit, else ~/.cache/sdedit; file finite-checked.json. A record that cannot be read is ignored, one that cannot be written is
// not kept: it only ever saves a scan.
import Foundation

/// What identifies a file's contents for the record: device, inode, size, mtime and ctime (ns).
public struct FileIdentity: Equatable, Sendable {
    public let device: UInt64, inode: UInt64, size: Int64
    public let mtime: Int64, ctime: Int64

    public init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }

    var fileKey: String { "\(device):\(inode)" }
    var version: String { "\(size):\(mtime):\(ctime)" }
}

public final class FiniteCheckRecord: @unchecked Sendable {
    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var _shared: FiniteCheckRecord?
    /// The record new WeightStores use: none until the application sets one (the CLI sets it from
    /// `directory(environment:)` when it starts; SDCore reads no environment variables).
    public static var shared: FiniteCheckRecord? {
        get { sharedLock.lock(); defer { sharedLock.unlock() }; return _shared }
        set { sharedLock.lock(); defer { sharedLock.unlock() }; _shared = newValue }
    }

    /// The record's directory for this environment: SDEDIT_CACHE_DIR (empty: none), else
    /// XDG_CACHE_HOME/sdedit, else HOME/.cache/sdedit (relative paths are ignored, as XDG says).
    public static func directory(environment env: [String: String]) -> String? {
        if let d = env["SDEDIT_CACHE_DIR"] { return d.isEmpty ? nil : d }
        if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") { return x + "/sdedit" }
        if let h = env["HOME"], h.hasPrefix("/") { return h + "/.cache/sdedit" }
        return nil
    }

    /// Largest record read (a few hundred bytes per checkpoint key; 16 MiB is thousands of files).
    static let maxBytes = 16 << 20

    public let path: String
    let settle: Double
    private let lock = NSLock()
    /// fileKey → (version, keys found finite); nil until first read.
    private var files: [String: (String, Set<String>)]?
    private var dirty = false

    public init(directory: String, settle: Double = 2) {
        path = directory + "/finite-checked.json"
        self.settle = settle
    }

    /// Whether `key` of the file with this identity was found finite when the file was as it is now.
    public func contains(_ id: FileIdentity, _ key: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let (version, keys) = loaded()[id.fileKey], version == id.version else { return false }
        return keys.contains(key)
    }

    /// Note that `key` was found finite (kept in memory until `save`).
    public func insert(_ id: FileIdentity, _ key: String) {
        let changed = Double(max(id.mtime, id.ctime)) / 1e9
        guard Date().timeIntervalSince1970 - changed >= settle else { return }
        lock.lock(); defer { lock.unlock() }
        var all = loaded()
        var entry = all[id.fileKey].flatMap { $0.0 == id.version ? $0 : nil } ?? (id.version, [])
        guard entry.1.insert(key).inserted else { return }
        all[id.fileKey] = entry
        files = all
        dirty = true
    }

    /// Write what was inserted, merged with what other processes wrote meanwhile (temp file, rename).
    public func save() {
        lock.lock(); defer { lock.unlock() }
        guard dirty, var mine = files else { return }
        for (k, v) in FiniteCheckRecord.read(path) {
            if let m = mine[k] {
                if m.0 == v.0 { mine[k] = (m.0, m.1.union(v.1)) }
            } else {
                mine[k] = v
            }
        }
        let json: [String: Any] = mine.mapValues { ["version": $0.0, "keys": $0.1.sorted()] }
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) else { return }
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data), rename(tmp, path) == 0 else {
            unlink(tmp)
            return
        }
        files = mine
        dirty = false
    }

    private func loaded() -> [String: (String, Set<String>)] {
        if files == nil { files = FiniteCheckRecord.read(path) }
        return files!
    }

    /// The record at `path`; empty when it is missing, too large or not the record's JSON.
    static func read(_ path: String) -> [String: (String, Set<String>)] {
        guard let bytes = try? FileInput.read(path, limit: maxBytes, regularOnly: true),
              let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else { return [:] }
        var out: [String: (String, Set<String>)] = [:]
        for (k, v) in obj {
            guard let e = v as? [String: Any], let version = e["version"] as? String, let keys = e["keys"] as? [String] else { continue }
            out[k] = (version, Set(keys))
        }
        return out
    }
}

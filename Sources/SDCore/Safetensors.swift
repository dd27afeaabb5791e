// safetensors reader: mmap, strict header validation, lazy per-key conversion to Float32.
// Format: huggingface/safetensors (docs "Format"): u64-LE header length N, N bytes of JSON,
// then the data section; data_offsets are relative to the data section.
// Every offset and size is checked before any byte is read, so a truncated or hostile file is an
// error naming the file and key, never an out-of-bounds read.
import CKernels
import Foundation

public enum DType: String, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    public var size: Int {
        switch self {
        case .bool, .u8, .i8: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}

public struct TensorInfo: Equatable {
    public let dtype: DType
    public let shape: [Int]
    public let begin: Int
    public let end: Int
}

public final class SafetensorsFile {
    public let path: String
    public let entries: [String: TensorInfo]
    public let metadata: [String: String]
    /// The file as it was opened (FiniteCheckRecord).
    public let identity: FileIdentity
    private let base: UnsafeMutableRawPointer?
    private let mappedLength: Int
    private let dataStart: Int

    /// Largest header accepted (the reference implementation's limit is 100 MB).
    static let maxHeader = 100_000_000

    public var keys: [String] { entries.keys.sorted() }

    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { throw SDError.io(path: path, message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SDError.io(path: path, message: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw SDError.io(path: path, message: "is a directory, not a .safetensors file") }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw SDError.badFile(path: path, message: "not a regular file (a FIFO, device or socket); weights must be a regular .safetensors file")
        }
        identity = FileIdentity(st)
        let size = Int(st.st_size)
        guard size >= 8 else { throw SDError.badFile(path: path, message: "too short for a safetensors header (\(size) bytes)") }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw SDError.io(path: path, message: "cannot map file: \(String(cString: strerror(errno)))")
        }
        base = m
        mappedLength = size
        do {
            let n = Int(clamping: m.loadUnaligned(as: UInt64.self).littleEndian)
            guard n > 0, n <= SafetensorsFile.maxHeader, n <= size - 8 else {
                throw SDError.badFile(path: path, message: "header length \(n) does not fit a file of \(size) bytes")
            }
            dataStart = 8 + n
            let headerData = Data(bytes: m + 8, count: n)
            let parsed = try SafetensorsFile.parseHeader(headerData, dataSize: size - dataStart, path: path)
            entries = parsed.0
            metadata = parsed.1
        } catch {
            munmap(m, size)
            throw error
        }
    }

    deinit { if let b = base { munmap(b, mappedLength) } }

    static func parseHeader(_ data: Data, dataSize: Int, path: String) throws -> ([String: TensorInfo], [String: String]) {
        func bad(_ msg: String) -> SDError { .badFile(path: path, message: msg) }
        guard let obj = try? JSONSerialization.jsonObject(with: data), let dict = obj as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        var entries: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in dict {
            if key == "__metadata__" {
                guard let md = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in md {
                    guard let s = v as? String else { throw bad("__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let e = value as? [String: Any] else { throw bad("tensor \(key): entry is not an object") }
            guard let ds = e["dtype"] as? String, let dtype = DType(rawValue: ds) else {
                throw bad("tensor \(key): unknown dtype \(String(describing: e["dtype"]))")
            }
            guard let shapeAny = e["shape"] as? [Any], let offAny = e["data_offsets"] as? [Any], offAny.count == 2 else {
                throw bad("tensor \(key): missing shape or data_offsets")
            }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard let n = jsonInt(d), n >= 0 else { throw bad("tensor \(key): bad dimension \(d)") }
                shape.append(n)
                let (p, o) = elements.multipliedReportingOverflow(by: n)
                guard !o else { throw bad("tensor \(key): shape \(shape) overflows") }
                elements = p
            }
            guard let begin = jsonInt(offAny[0]), let end = jsonInt(offAny[1]), begin >= 0, begin <= end else {
                throw bad("tensor \(key): bad data_offsets \(offAny)")
            }
            guard end <= dataSize else {
                throw bad("tensor \(key): data_offsets [\(begin), \(end)] run past the end of the data (\(dataSize) bytes; file truncated?)")
            }
            let (bytes, o) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !o, bytes == end - begin else {
                throw bad("tensor \(key): \(dtype.rawValue) \(shape) needs \(o ? -1 : bytes) bytes but data_offsets give \(end - begin)")
            }
            entries[key] = TensorInfo(dtype: dtype, shape: shape, begin: begin, end: end)
        }
        // Tensors must not overlap (the reference also requires them to tile the data section).
        let sorted = entries.sorted { ($0.value.begin, $0.value.end) < ($1.value.begin, $1.value.end) }
        var cursor = 0
        for (key, info) in sorted where info.end > info.begin {
            guard info.begin >= cursor else { throw bad("tensor \(key): data overlaps another tensor") }
            cursor = info.end
        }
        return (entries, metadata)
    }

    private static func jsonInt(_ v: Any) -> Int? {
        if let n = v as? NSNumber {
            let d = n.doubleValue
            guard d.rounded() == d, abs(d) < 9.0e15 else { return nil }
            return n.intValue
        }
        return nil
    }

    public func info(_ key: String) -> TensorInfo? { entries[key] }

    /// The entry and first byte of `key` (offsets were validated against the file when it opened).
    private func source(_ key: String) throws -> (TensorInfo, UnsafeRawPointer) {
        guard let info = entries[key] else { throw SDError.missingModel("\(path): no tensor named \(key)") }
        guard let b = base else { throw SDError.io(path: path, message: "file is not mapped") }
        return (info, UnsafeRawPointer(b) + dataStart + info.begin)
    }

    /// The tensor named `key`, converted to Float32.
    public func tensor(_ key: String) throws -> Tensor {
        // Split over the threads in blocks: a large weight copied out is a memory-bound pass that one
        // core cannot saturate.
        try tensor(key, rowsPerBlock: 1 << 18, rowLength: 1) { _, _ in }
    }

    /// The tensor named `key` in Float32, converted in blocks of `rowsPerBlock` rows of `rowLength`
    /// values split over the threads, each block handed to `finish(first value, rows)` on the thread
    /// that wrote it while it is still in cache (a LoRA merge adds its updates and checks the result
    /// there: one pass over the weight instead of three). The owned copy is made without zero-filling,
    /// its pages mapped a block at a time (prefault): page faults were most of a merge's cost.
    public func tensor(_ key: String, rowsPerBlock: Int, rowLength: Int,
                       finish: (UnsafeMutablePointer<Float>, Range<Int>) -> Void) throws -> Tensor {
        let (info, src) = try source(key)
        let n = Tensor.count(info.shape)
        let row = Swift.max(1, rowLength), rows = (n + row - 1) / row, per = Swift.max(1, rowsPerBlock)
        let t = Tensor(shape: info.shape) { out in
            parallelChunks((rows + per - 1) / per) { range in
                for b in range {
                    let r = (b * per)..<Swift.min(rows, (b + 1) * per)
                    let lo = r.lowerBound * row, len = Swift.min(n, r.upperBound * row) - lo
                    prefault(UnsafeMutableRawPointer(out.baseAddress! + lo), bytes: len * 4)
                    convertToFloat(src + lo * info.dtype.size, dtype: info.dtype, count: len, into: out.baseAddress! + lo)
                    finish(out.baseAddress! + lo, r)
                }
            }
        }
        releasePages(from: dataStart + info.begin, to: dataStart + info.end)
        return t
    }

    /// The Float32 values of `key` where they lie in the mapping, with no copy: only for F32 data at a
    /// 4-byte-aligned address (writers pad the header to 8 bytes, so this is the normal case); nil
    /// otherwise, and the caller converts. Valid while this file object lives; the pages stay shared
    /// with the page cache instead of becoming a private copy.
    public func mappedFloats(_ key: String) -> MappedFloats? {
        guard let (info, src) = try? source(key), info.dtype == .f32, Int(bitPattern: src) % 4 == 0 else { return nil }
        let n = Tensor.count(info.shape)
        return MappedFloats(file: self, shape: info.shape,
                            values: UnsafeBufferPointer(start: src.assumingMemoryBound(to: Float.self), count: n))
    }

    /// The tensor named `key` as bfloat16 bits, converted straight from the file through a small
    /// fp32 scratch, so loading a bf16 model never holds a whole tensor in Float32 (freed Float32
    /// copies interleaved with the smaller bf16 arrays fragment the heap until it is as big as the
    /// fp32 model; figures in docs/benchmarks.md).
    public func bf16Storage(_ key: String) throws -> [UInt16] {
        let (info, src) = try source(key)
        let n = Tensor.count(info.shape)
        let chunk = 1 << 16
        let bits = [UInt16](unsafeUninitializedCapacity: n) { out, initialised in
            let dst = out.baseAddress!
            parallelChunks((n + chunk - 1) / chunk) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
                defer { scratch.deallocate() }
                for c in range {
                    let (i, len) = (c * chunk, Swift.min(chunk, n - c * chunk))
                    if info.dtype == .f32 && Int(bitPattern: src) % 4 == 0 {
                        sd_f32_to_bf16(src.assumingMemoryBound(to: Float.self) + i, dst + i, len)
                    } else {
                        convertToFloat(src + i * info.dtype.size, dtype: info.dtype, count: len, into: scratch)
                        sd_f32_to_bf16(scratch, dst + i, len)
                    }
                }
            }
            initialised = n
        }
        releasePages(from: dataStart + info.begin, to: dataStart + info.end)
        return bits
    }

    /// Drop the file pages of `key`'s values from this process's resident set (the page cache keeps
    /// them; a later read faults them back in): a component used once, such as the text encoder of a
    /// one-image job, then stops counting in the process's memory. Returns the bytes of F32 values
    /// given back (other dtypes were converted to copies whose pages went at conversion).
    public func releaseResidentPages(_ key: String) -> Int {
        guard let info = entries[key] else { return 0 }
        releasePages(from: dataStart + info.begin, to: dataStart + info.end)
        return info.dtype == .f32 ? info.end - info.begin : 0
    }

    /// Drop the file pages of a converted tensor from this process's resident set, so loading a
    /// model does not hold both the file's pages and the Float32 copy (it would double peak RSS).
    /// Pages shared with a neighbouring tensor stay.
    private func releasePages(from start: Int, to end: Int) {
        guard let b = base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (start + page - 1) / page * page, hi = end / page * page
        if hi > lo { madvise(b + lo, hi - lo, Int32(MADV_DONTNEED)) }
    }
}

/// Have the kernel map the pages of a fresh block before it is written, in one call (Linux ≥ 5.14
/// MADV_POPULATE_WRITE; elsewhere, or when refused, the writes fault them in as before): a LoRA-merged
/// weight is hundreds of MiB of new memory, and one fault per 4 KiB page was the largest part of the
/// merge. Transparent huge pages were no help here: with the usual defrag setting they compact memory
/// on fault.
func prefault(_ p: UnsafeMutableRawPointer, bytes: Int) {
    #if os(Linux)
    let populateWrite: Int32 = 23
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let lo = (Int(bitPattern: p) + page - 1) / page * page, hi = (Int(bitPattern: p) + bytes) / page * page
    if hi > lo { _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, populateWrite) }
    #endif
}

/// Little-endian raw values of `dtype` to Float32.
func convertToFloat(_ src: UnsafeRawPointer, dtype: DType, count n: Int, into dst: UnsafeMutablePointer<Float>) {
    switch dtype {
    case .f32:
        UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: n * 4)
    case .f16:
        let table = halfTable
        for i in 0..<n { dst[i] = table[Int(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))] }
    case .bf16:
        for i in 0..<n {
            dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
        }
    case .f64: for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
    case .i64: for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
    case .u64: for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
    case .i32: for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
    case .u32: for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
    case .i16: for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
    case .u16: for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
    case .i8: for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
    case .u8, .bool: for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
    }
}

/// IEEE binary16 bit pattern to Float32, exact for every pattern (subnormals, inf, NaN).
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = Int((h >> 10) & 0x1f)
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        // ±0 or subnormal: mant · 2^-24
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
}

/// All 65,536 half values, built once (256 KiB): F16 checkpoints convert by table lookup.
let halfTable: [Float] = (0...0xffff).map { halfToFloat(UInt16($0)) }

/// Write a safetensors file (F32 only) — used by tests and tools, not by the pipelines.
public func writeSafetensors(_ tensors: [String: Tensor], to path: String) throws {
    var header: [String: Any] = [:]
    var offset = 0
    let names = tensors.keys.sorted()
    for k in names {
        let t = tensors[k]!
        header[k] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]]
        offset += 4 * t.count
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while (json.count + 8) % 8 != 0 { json.append(0x20) }
    var out = Data()
    var n = UInt64(json.count).littleEndian
    out.append(Data(bytes: &n, count: 8))
    out.append(json)
    for k in names { tensors[k]!.storage.withUnsafeBytes { out.append(contentsOf: $0) } }
    do { try out.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        throw SDError.ioWrite(path: path, message: error.localizedDescription)
    }
}

/// Float32 values that live in a mapped safetensors file (SafetensorsFile.mappedFloats): the file
/// object is held so the mapping outlives every weight that points into it.
public final class MappedFloats {
    public let file: SafetensorsFile
    public let shape: [Int]
    public let values: UnsafeBufferPointer<Float>

    init(file: SafetensorsFile, shape: [Int], values: UnsafeBufferPointer<Float>) {
        self.file = file
        self.shape = shape
        self.values = values
    }

    /// How many values are NaN or ±Inf: one vectorised pass over the mapped pages, split over the
    /// threads (it is the pass that brings the file's pages in, so it is most of a warm load).
    public var nonFiniteCount: Int { countNonFinite(values) }

    /// An owned copy (for a weight that must change: a merged LoRA, a reshape).
    public var tensor: Tensor { Tensor(shape: shape, storage: Array(values)) }
}

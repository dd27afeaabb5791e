// sdedit-fuzz TARGET [libFuzzer flags] [CORPUS…]. Built with -sanitize=fuzzer it is a libFuzzer
// binary (scripts/fuzz/run.sh); built normally it replays the files or folders it is given.
import CFuzzDriver
import Foundation
import SDFuzzTargets

var args = CommandLine.arguments
guard args.count >= 2, FuzzTargets.names.contains(args[1]) else {
    FileHandle.standardError.write("usage: sdedit-fuzz \(FuzzTargets.names.joined(separator: "|")) [libFuzzer flags] [corpus…]\n".data(using: .utf8)!)
    exit(64)
}
let target = args.remove(at: 1)
nonisolated(unsafe) var selected = target
var argc = Int32(args.count)
var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
let status = cargs.withUnsafeMutableBufferPointer { buf -> Int32 in
    var argv = buf.baseAddress
    return sd_fuzz_run(&argc, &argv) { data, size in
        FuzzTargets.run(selected, Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
}
if status >= 0 { exit(status) }
// Replay mode: every file named, or in a folder named.
var count = 0
for p in args.dropFirst() where !p.hasPrefix("-") {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { continue }
    let files = isDir.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).sorted().map { p + "/" + $0 } : [p]
    for f in files {
        guard let d = FileManager.default.contents(atPath: f) else { continue }
        FuzzTargets.run(target, [UInt8](d))
        count += 1
    }
}
print("sdedit-fuzz \(target): replayed \(count) inputs without libFuzzer")

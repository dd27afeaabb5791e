// `sdedit info`: the CPU, the kernel plan built for it from --threads and the environment (one
// plain line first: fast path or fallback), the BLAS and the thread budget; with --model, what
// sdedit takes that model for.
import ArgumentParser
import Foundation
import SDCore
import SDModels

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the CPU features, the kernels chosen for this CPU and the thread budget.")

    @Option(help: "Threads to report the budget for (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Also say what this model is taken for: a diffusers folder, a single-file .safetensors (its detected kind) or a hub id.")
    var model: String?

    func run() throws {
        try runReportingErrors {
            let warnings = try Backend.start(threads: threads)
            print(SDEdit.versionLine)
            for line in Backend.summary { print(line) }
            for w in warnings { print("warning: \(w)") }
            print(Backend.finiteRecordLine)
            if let m = model { print("model: " + (try ModelSource.open(ModelLocator.resolve(m)).summary)) }
        }
    }
}

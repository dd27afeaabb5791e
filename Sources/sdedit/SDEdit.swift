// sdedit — Stable Diffusion image editing on the CPU. Parsing, IO, progress and exit codes only;
// all numeric work lives in SDCore / SDModels / SDPipelines.
import ArgumentParser
import Foundation
import CMalloc
import CSDSystem
import SDCore
import SDJobs

@main
struct SDEdit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdedit",
        abstract: "Stable Diffusion image editing (inpaint, depth2img, img2img, x4 upscale) on the CPU, from diffusers folders or single files.",
        discussion: """
        Exit codes: 0 success, 64 usage error, 65 bad input data (corrupt image, malformed model file), \
        66 an input cannot be read (missing, a directory, no permission), 69 unavailable (model not found, or a system \
        library such as OpenBLAS missing: the message names it), 70 internal error, \
        74 I/O error while writing.
        Kernels are chosen at run time for the CPU (see sdedit info). Environment: SDEDIT_MAX_ISA=generic|avx2|avx512 \
        caps the SIMD kernels; OPENBLAS_CORETYPE, if set, overrides the OpenBLAS kernels sdedit chooses from cpuid; \
        SDEDIT_PROFILE=1 makes sdedit bench print the time per op family. \
        Files: every fp32 weight is scanned for NaN/Inf once per file version (device, inode, size, mtime, ctime); \
        the keys found finite are recorded in $SDEDIT_CACHE_DIR, else $XDG_CACHE_HOME/sdedit, else \
        ~/.cache/sdedit (finite-checked.json). SDEDIT_CACHE_DIR= (empty) keeps no record and scans every run.
        """,
        version: sdeditVersion,
        subcommands: [Inpaint.self, Outpaint.self, Depth2Img.self, Depth.self, Img2Img.self, Upscale.self, Txt2Img.self, Serve.self, Bench.self, Info.self]
    )

    static func main() {
        keepFreedMemory()
        // ArgumentParser's --version would print the version alone; this one names the commit too.
        if CommandLine.arguments.dropFirst().first == "--version" { return print(versionLine) }
        do {
            var command = try parseAsRoot(nil)
            try command.run()
        } catch {
            // --help and --version print to stdout and exit 0; ExitCode carries a code whose message
            // was already printed. Every other failure here is a usage error: one line on stderr, not
            // the usage text (that is what --help is for).
            let code = exitCode(for: error)
            if code == .success || error is ExitCode { exit(withError: error) }
            let lines = SDEdit.message(for: error).split(separator: "\n").map {
                $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "- ", with: "", options: .anchored)
            }
            let message = lines.isEmpty ? "invalid usage" : lines.joined(separator: " ")
            printError("sdedit: \(message) (see sdedit help)")
            Foundation.exit(code.rawValue)
        }
    }
}

extension Backend {
    /// The CLI's kernel plan: --threads and the environment variables named in the discussion above
    /// (KernelPlan.from lists them), recorded and started, and the finite-check record's directory.
    /// The one place sdedit reads them.
    static func start(threads: Int) throws -> [String] {
        let env = ProcessInfo.processInfo.environment
        FiniteCheckRecord.shared = FiniteCheckRecord.directory(environment: env).map { FiniteCheckRecord(directory: $0) }
        return try start(KernelPlan.from(environment: env, threads: threads))
    }

    /// Where this run records the weights it found finite (`sdedit info`, `sdedit bench`): a load
    /// reads fewer bytes when the record already holds its files.
    static var finiteRecordLine: String {
        "weights found finite are recorded in: " + (FiniteCheckRecord.shared?.path ?? "nothing (SDEDIT_CACHE_DIR is empty, or no HOME)")
    }
}

extension SDEdit {
    /// "sdedit 0.1.0 (commit 1a2b3c4d5e6f)": `sdedit --version` and `sdedit info`. The commit is
    /// written at build time by `make` (scripts/build_commit.sh); a plain `swift build` says unknown.
    static var versionLine: String { "sdedit \(configuration.version) (commit \(String(cString: sd_build_commit())))" }
}

/// Serve every allocation from the heap and never trim it. glibc otherwise maps each large tensor
/// (> 32 MiB) afresh and unmaps it on free, so every op pays page faults and kernel page zeroing
/// (the VAE took about a third longer that way; figures in docs/benchmarks.md).
func keepFreedMemory() {
    _ = mallopt(M_MMAP_MAX, 0)
    _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
}

/// Exit codes from sysexits.h, documented in the README and the man page.
enum ExitCode32: Int32 {
    case usage = 64, dataError = 65, noInput = 66, unavailable = 69, software = 70, ioError = 74
}

/// Map an SDError to its exit code and print the one-line message on stderr.
func fail(_ error: Error) -> ExitCode {
    printError("sdedit: \(error)")
    return ExitCode(exitCode(for: error).rawValue)
}

/// The documented exit code of an error (a batch line's error keeps its job's code).
func exitCode(for error: Error) -> ExitCode32 {
    let code: ExitCode32
    switch error {
    case let b as BatchLineError: code = exitCode(for: b.error)
    case let e as SDError:
        switch e {
        // Chosen by the error's type, never its text: reading fails with 66, writing with 74.
        case .io: code = .noInput
        case .ioWrite: code = .ioError
        case .badFile, .nonFinite: code = .dataError
        case .invalidInput: code = .usage
        case .missingModel: code = .unavailable
        }
    default: code = .software
    }
    return code
}

func printError(_ s: String) {
    FileHandleStderr.write(s + "\n")
}

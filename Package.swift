// swift-tools-version:6.0
// sdedit — Stable Diffusion 2 image editing on the CPU.
// Dependency direction (one way only):
//   CKernels, CSystem, CPNG, CJPEG, CImageCodecs, CMalloc  <-  SDCore  <-  SDModels (+ CVocab)  <-  SDPipelines
//   <-  SDJobs  <-  sdedit
import PackageDescription

let optimise: [SwiftSetting] = [.unsafeFlags(["-O", "-wmo"], .when(configuration: .release))]
// Every target, tests and fuzz targets included, builds in the Swift 6 language mode (strict
// concurrency checking; swiftLanguageModes below).

let package = Package(
    name: "sdedit",
    products: [
        .executable(name: "sdedit", targets: ["sdedit"]),
        .library(name: "SDCore", targets: ["SDCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        // setjmp/longjmp error handling for libpng/libjpeg cannot be written in Swift.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"],
                cSettings: [.unsafeFlags(["-O2"])], linkerSettings: [.linkedLibrary("z")]),
        // Our own SIMD kernels, compiled once per ISA and chosen at run time (cpuid), the CPU
        // feature reader, and the OpenBLAS loader (dlopen, so its kernels can be chosen first).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=on"])],
                linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("m")]),
        // Async-signal-safe removal of a temporary output file on a terminating signal.
        // Module CSDSystem, folder Sources/CSystem: swift-system (under Hummingbird/NIO) owns the target name CSystem.
        .target(name: "CSDSystem", path: "Sources/CSystem"),
        .target(name: "SDCore", dependencies: ["CKernels", "CImageCodecs", "CSDSystem"], swiftSettings: optimise),
        // The CLIP BPE merges as one C string (scripts/embed_vocab.py), for single-file checkpoints.
        .target(name: "CVocab", cSettings: [.unsafeFlags(["-O0"])]),
        .target(name: "SDModels", dependencies: ["SDCore", "CVocab"], swiftSettings: optimise),
        .target(name: "SDPipelines", dependencies: ["SDModels", "SDCore"], swiftSettings: optimise),
        // Image-level jobs below the CLI and the server: model store, one generation loop, run record.
        .target(name: "SDJobs", dependencies: ["SDPipelines", "SDModels", "SDCore"], swiftSettings: optimise),
        .executableTarget(name: "sdedit",
                          dependencies: ["SDJobs", "SDPipelines", "SDModels", "SDCore", "CMalloc", "SDServer",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimise),
        // Fuzz targets (scripts/fuzz): a library the corpus-replay test also uses, and a binary that is
        // a libFuzzer fuzzer when built with -sanitize=fuzzer (scripts/fuzz/run.sh), a replayer otherwise.
        .target(name: "SDFuzzTargets", dependencies: ["SDPipelines", "SDModels", "SDCore"], path: "scripts/fuzz/targets",
                swiftSettings: optimise),
        .target(name: "CFuzzDriver", path: "scripts/fuzz/driver"),
        .executableTarget(name: "sdedit-fuzz", dependencies: ["SDFuzzTargets", "CFuzzDriver"], path: "scripts/fuzz/main",
                          swiftSettings: optimise),
        .target(name: "SDTestSupport", dependencies: ["SDCore"], path: "Tests/SDTestSupport"),
        .testTarget(name: "SDCoreTests", dependencies: ["SDCore", "SDTestSupport"]),
        .testTarget(name: "SDModelsTests", dependencies: ["SDModels", "SDCore", "SDTestSupport"]),
        .testTarget(name: "sdeditTests", dependencies: ["sdedit", "SDCore", "SDTestSupport"]),
        // `sdedit serve`: the AUTOMATIC1111 web API (/sdapi/v1/...) on Hummingbird 2.
        .target(name: "SDServer", dependencies: ["SDJobs", "SDPipelines", "SDModels", "SDCore",
                                                 .product(name: "Hummingbird", package: "hummingbird"),
                                                 .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                 .product(name: "Logging", package: "swift-log")],
                swiftSettings: optimise),
        .testTarget(name: "SDServerTests", dependencies: ["SDServer", "SDJobs", "SDPipelines", "SDCore", "SDTestSupport",
                                                          .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "SDPipelinesTests", dependencies: ["SDPipelines", "SDModels", "SDCore", "SDTestSupport", "SDFuzzTargets"]),
    ],
    swiftLanguageModes: [.v6]
)

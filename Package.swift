// swift-tools-version:6.0
// sdedit — Stable Diffusion 2 image editing on the CPU.
// Dependency direction (one way only):
//   CBLAS, CPNG, CJPEG, CImageCodecs, CMalloc  <-  SDCore  <-  SDModels  <-  SDPipelines  <-  sdedit
import PackageDescription

let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo", "-target-cpu", "native"], .when(configuration: .release))]

let package = Package(
    name: "sdedit",
    products: [
        .executable(name: "sdedit", targets: ["sdedit"]),
        .library(name: "SDCore", targets: ["SDCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        // setjmp/longjmp error handling for libpng/libjpeg cannot be written in Swift.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"],
                cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "SDCore", dependencies: ["CBLAS", "CImageCodecs"], swiftSettings: optimise),
        .target(name: "SDModels", dependencies: ["SDCore"], swiftSettings: optimise),
        .target(name: "SDPipelines", dependencies: ["SDModels", "SDCore"], swiftSettings: optimise),
        .executableTarget(name: "sdedit",
                          dependencies: ["SDPipelines", "SDModels", "SDCore", "CMalloc",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimise),
        .target(name: "SDTestSupport", dependencies: ["SDCore"], path: "Tests/SDTestSupport"),
        .testTarget(name: "SDCoreTests", dependencies: ["SDCore", "SDTestSupport"]),
        .testTarget(name: "SDModelsTests", dependencies: ["SDModels", "SDCore", "SDTestSupport"]),
        .testTarget(name: "sdeditTests", dependencies: ["sdedit", "SDCore", "SDTestSupport"]),
        .testTarget(name: "SDPipelinesTests", dependencies: ["SDPipelines", "SDModels", "SDCore", "SDTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)

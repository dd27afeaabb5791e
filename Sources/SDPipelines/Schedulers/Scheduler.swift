// The scheduler protocol and the quantities every diffusers scheduler shares (β schedule, ᾱ, σ).
// Arithmetic follows torch/numpy where it decides the last bits: float32 linspace with the FMA
// contraction of x86 torch builds, cumprod accumulated in double, numpy interp in double.
import Foundation
import SDCore
import SDModels

public protocol Scheduler: AnyObject {
    /// Timesteps in the order the pipeline visits them, as the UNet receives them.
    var timesteps: [Float] { get }
    /// diffusers' `order`: how many timestep entries one solver step consumes (1 here).
    var order: Int { get }
    var initNoiseSigma: Float { get }
    /// Prepare `steps` inference steps (diffusers set_timesteps).
    func setTimesteps(_ steps: Int) throws
    /// Start at this index of `timesteps` (diffusers set_begin_index, used for img2img strength).
    func setBeginIndex(_ index: Int)
    func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor
    func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor, generator: TorchGenerator) -> Tensor
    func addNoise(_ original: Tensor, noise: Tensor, timestep: Float) -> Tensor
    /// The user's denoising steps done after UNet call `call` (0-based) of the `calls` a run makes,
    /// and their total, for progress: (call + 1, calls) where each call is one step.
    func progressStep(afterCall call: Int, of calls: Int) -> (done: Int, total: Int)
}

extension Scheduler {
    public func progressStep(afterCall call: Int, of calls: Int) -> (done: Int, total: Int) { (call + 1, calls) }
}

public enum SchedulerKind: String, CaseIterable {
    case pndm, ddim, dpm2m = "dpm++2m", dpm2mKarras = "dpm++2m-karras", euler, eulerAncestral = "euler-a"
    case lcm

    /// A scheduler of this kind configured from a checkpoint's scheduler_config.json, the way
    /// diffusers' `from_config` does it: keys absent from the file take this class's defaults.
    public func make(config: ConfigReader) throws -> Scheduler {
        switch self {
        case .pndm: return try PNDMScheduler(config)
        case .ddim: return try DDIMScheduler(config)
        case .dpm2m: return try DPMSolverMultistepScheduler(config, karras: nil)
        case .dpm2mKarras: return try DPMSolverMultistepScheduler(config, karras: true)
        case .euler: return try EulerDiscreteScheduler(config)
        case .eulerAncestral: return try EulerAncestralDiscreteScheduler(config)
        case .lcm: return try LCMScheduler(config)
        }
    }

    /// The kind named by a scheduler_config.json's _class_name (the checkpoint's default).
    public static func fromClassName(_ name: String) -> SchedulerKind? {
        switch name {
        case "PNDMScheduler": return .pndm
        case "DDIMScheduler": return .ddim
        case "DPMSolverMultistepScheduler": return .dpm2m
        case "EulerDiscreteScheduler": return .euler
        case "EulerAncestralDiscreteScheduler": return .eulerAncestral
        case "LCMScheduler": return .lcm
        default: return nil
        }
    }
}

public enum PredictionType: String { case epsilon, vPrediction = "v_prediction" }

public enum TimestepSpacing: String { case leading, linspace, trailing }

/// β / ᾱ tables and the shared config keys, with the given class's defaults for absent keys.
public struct NoiseSchedule {
    public let trainSteps: Int
    public let alphasCumprod: [Float]
    public let prediction: PredictionType
    public let spacing: TimestepSpacing
    public let stepsOffset: Int

    public init(_ r: ConfigReader, defaultSpacing: TimestepSpacing, defaultSchedule: String = "linear",
                defaultBetas: (start: Double, end: Double) = (0.0001, 0.02)) throws {
        trainSteps = try r.int("num_train_timesteps", default: 1000, range: 2...100_000)
        let start = try r.double("beta_start", default: defaultBetas.start, range: 0...1)
        let end = try r.double("beta_end", default: defaultBetas.end, range: 0...1)
        let schedule = try r.string("beta_schedule", default: defaultSchedule)
        if r.present("trained_betas") != nil { throw SDError.badFile(path: r.path, message: "trained_betas is not supported") }
        let betas: [Float]
        switch schedule {
        case "linear": betas = torchLinspace(Float(start), Float(end), trainSteps)
        case "scaled_linear": betas = torchLinspace(Float(start.squareRoot()), Float(end.squareRoot()), trainSteps).map { $0 * $0 }
        default: throw SDError.badFile(path: r.path, message: "beta_schedule \(schedule) is not supported (linear, scaled_linear)")
        }
        // torch.cumprod on CPU accumulates float32 in double, rounding each prefix.
        var acc = 1.0
        alphasCumprod = betas.map { b in acc *= Double(1 - b); return Float(acc) }
        let p = try r.string("prediction_type", default: "epsilon")
        guard let pt = PredictionType(rawValue: p) else {
            throw SDError.badFile(path: r.path, message: "prediction_type \(p) is not supported (epsilon, v_prediction)")
        }
        prediction = pt
        let s = try r.string("timestep_spacing", default: defaultSpacing.rawValue)
        guard let sp = TimestepSpacing(rawValue: s) else {
            throw SDError.badFile(path: r.path, message: "timestep_spacing \(s) is not supported")
        }
        spacing = sp
        stepsOffset = try r.int("steps_offset", default: 0, range: 0...1000)
    }

    /// σ = √((1 − ᾱ)/ᾱ) per training step, float32 as torch computes it.
    public var sigmas: [Float] { alphasCumprod.map { ((1 - $0) / $0).squareRoot() } }

    /// Integer timesteps, descending, for "leading"/"trailing"/"linspace" spacing (PNDM, DDIM).
    /// Every one must index ᾱ: "leading" with steps_offset 1 and as many steps as training steps
    /// reaches t = num_train_timesteps (diffusers fails there with an IndexError).
    func integerTimesteps(_ n: Int) throws -> [Int] {
        let ts = spacedTimesteps(n)
        if let bad = ts.first(where: { $0 < 0 || $0 >= trainSteps }) {
            throw SDError.invalidInput("--steps \(n) gives timestep \(bad), outside 0…\(trainSteps - 1), with this scheduler "
                                       + "(num_train_timesteps \(trainSteps), timestep_spacing \(spacing.rawValue), "
                                       + "steps_offset \(stepsOffset)); use fewer steps")
        }
        return ts
    }

    private func spacedTimesteps(_ n: Int) -> [Int] {
        switch spacing {
        case .leading:
            let ratio = trainSteps / n
            return (0..<n).reversed().map { $0 * ratio + stepsOffset }
        case .linspace:
            return numpyLinspace(0, Double(trainSteps - 1), n).map { Int($0.rounded(.toNearestOrEven)) }.reversed()
        case .trailing:
            let ratio = Double(trainSteps) / Double(n)
            return stride(from: Double(trainSteps), to: 0, by: -ratio).map { Int($0.rounded(.toNearestOrEven)) - 1 }
        }
    }
}

/// torch.linspace(start, end, steps, dtype=float32) on x86: FMA in both halves.
func torchLinspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
    guard steps > 1 else { return [start] }
    let step = (end - start) / Float(steps - 1)
    return (0..<steps).map { i in
        i < steps / 2 ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - 1 - i))
    }
}

/// numpy.linspace in float64 (the last value is exactly `stop`).
func numpyLinspace(_ start: Double, _ stop: Double, _ n: Int) -> [Double] {
    guard n > 1 else { return [start] }
    let step = (stop - start) / Double(n - 1)
    return (0..<n).map { i in i == n - 1 ? stop : Double(i) * step + start }
}

/// numpy.interp(x, arange(len(fp)), fp) in float64.
func numpyInterp(_ x: Double, _ fp: [Float]) -> Double {
    if x <= 0 { return Double(fp[0]) }
    if x >= Double(fp.count - 1) { return Double(fp[fp.count - 1]) }
    let j = Int(x.rounded(.down))
    let slope = (Double(fp[j + 1]) - Double(fp[j])) / 1.0
    return slope * (x - Double(j)) + Double(fp[j])
}

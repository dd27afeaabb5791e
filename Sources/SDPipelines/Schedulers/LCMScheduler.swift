// LCMScheduler: diffusers schedulers/scheduling_lcm.py (latent consistency models and LCM-LoRA).
// Timesteps are a subset of the distillation schedule (original_inference_steps, default 50: every
// k = 1000/50-th training step); each step maps the sample to the consistency function's x0
// (c_skip·x + c_out·x0, boundary-condition scalings at timestep·timestep_scaling) and, except at the
// last step, re-noises it to the next timestep with a fresh draw from the pipeline's generator.
// steps_offset and timestep_spacing are not read (the class ignores them too).
import Foundation
import SDCore
import SDModels

public final class LCMScheduler: Scheduler {
    let schedule: NoiseSchedule
    let originalSteps: Int
    let timestepScaling: Float
    let clipRange: Float?
    public private(set) var timesteps: [Float] = []
    public let order = 1
    public let initNoiseSigma: Float = 1
    var stepIndex: Int?, beginIndex: Int?

    init(_ r: ConfigReader) throws {
        schedule = try NoiseSchedule(r, defaultSpacing: .leading, defaultSchedule: "scaled_linear", defaultBetas: (0.00085, 0.012))
        originalSteps = try r.int("original_inference_steps", default: 50, range: 1...100_000)
        guard originalSteps <= schedule.trainSteps else {
            throw SDError.badFile(path: r.path, message: "original_inference_steps \(originalSteps) exceeds num_train_timesteps \(schedule.trainSteps)")
        }
        timestepScaling = Float(try r.double("timestep_scaling", default: 10, range: 0...1e6))
        clipRange = try r.bool("clip_sample", default: false) ? Float(try r.double("clip_sample_range", default: 1, range: 0...1e6)) : nil
        if try r.bool("thresholding", default: false) { throw SDError.badFile(path: r.path, message: "thresholding is not supported") }
        if try r.bool("rescale_betas_zero_snr", default: false) {
            throw SDError.badFile(path: r.path, message: "rescale_betas_zero_snr is not supported")
        }
    }

    /// `n` of the distillation schedule's timesteps, evenly spaced from its top (np.linspace(0, L, n,
    /// endpoint=False), floored, indexing the descending schedule).
    public func setTimesteps(_ n: Int) throws {
        let k = schedule.trainSteps / originalSteps
        let origin = (1...originalSteps).map { $0 * k - 1 }.reversed() as [Int]
        guard n >= 1, n <= originalSteps else {
            throw SDError.invalidInput("--steps \(n): LCM takes 1…\(originalSteps) steps (original_inference_steps \(originalSteps))")
        }
        let spacing = Double(origin.count) / Double(n)
        timesteps = (0..<n).map { Float(origin[Int((Double($0) * spacing).rounded(.down))]) }
        stepIndex = nil
        beginIndex = nil
    }

    public func setBeginIndex(_ index: Int) { beginIndex = index }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    /// diffusers _init_step_index: the begin index if set, else the timestep's position.
    func index(for t: Float) -> Int {
        if let i = stepIndex { return i }
        let matches = timesteps.indices.filter { timesteps[$0] == t }
        let i = beginIndex ?? (matches.count > 1 ? matches[1] : (matches.first ?? 0))
        stepIndex = i
        return i
    }

    /// c_skip and c_out at σ_data 0.5, in float32 as torch computes them on the timestep tensor.
    func boundaryScalings(_ t: Float) -> (skip: Float, out: Float) {
        let s = t * timestepScaling
        let d = s * s + 0.25
        return (0.25 / d, s / d.squareRoot())
    }

    public func step(_ m: Tensor, timestep: Float, sample x: Tensor, generator: TorchGenerator) -> Tensor {
        let i = index(for: timestep)
        let t = Int(timestep), prev = i + 1 < timesteps.count ? Int(timesteps[i + 1]) : t
        let a = schedule.alphasCumprod[t], ap = schedule.alphasCumprod[prev]
        let b = 1 - a, bp = 1 - ap
        let (cSkip, cOut) = boundaryScalings(timestep)
        var x0: Tensor
        switch schedule.prediction {
        case .epsilon: x0 = (x - b.squareRoot() * m) / a.squareRoot()
        case .vPrediction: x0 = a.squareRoot() * x - b.squareRoot() * m
        }
        if let c = clipRange { x0 = x0.clamped(-c, c) }
        let denoised = cOut * x0 + cSkip * x
        stepIndex = i + 1
        guard i != timesteps.count - 1 else { return denoised }
        return ap.squareRoot() * denoised + bp.squareRoot() * generator.randn(m.shape)
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        ddpmAddNoise(schedule.alphasCumprod, original, noise, Int(timestep))
    }
}

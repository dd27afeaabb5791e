// DDIMScheduler, eta = 0: diffusers schedulers/scheduling_ddim.py (ε or v prediction,
// optional clip_sample — the class default is true, SD2's files set it false).
import SDCore
import SDModels

public final class DDIMScheduler: Scheduler {
    let schedule: NoiseSchedule
    let finalAlphaCumprod: Float
    let clipSample: Bool
    let clipRange: Float
    public private(set) var timesteps: [Float] = []
    public let order = 1
    public let initNoiseSigma: Float = 1
    var stepRatio = 0

    init(_ r: ConfigReader) throws {
        schedule = try NoiseSchedule(r, defaultSpacing: .leading)
        finalAlphaCumprod = try r.bool("set_alpha_to_one", default: true) ? 1 : schedule.alphasCumprod[0]
        clipSample = try r.bool("clip_sample", default: true)
        clipRange = Float(try r.double("clip_sample_range", default: 1, range: 0...1e6))
        if try r.bool("thresholding", default: false) {
            throw SDError.badFile(path: r.path, message: "thresholding is not supported")
        }
    }

    public func setTimesteps(_ n: Int) throws {
        guard n >= 1 && n <= schedule.trainSteps else { throw SDError.invalidInput("steps must be 1…\(schedule.trainSteps)") }
        stepRatio = schedule.trainSteps / n
        timesteps = try schedule.integerTimesteps(n).map(Float.init)
    }

    public func setBeginIndex(_ index: Int) {}

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    public func step(_ m: Tensor, timestep: Float, sample x: Tensor, generator: TorchGenerator) -> Tensor {
        let t = Int(timestep), prev = t - stepRatio
        let at = schedule.alphasCumprod[t]
        let ap = prev >= 0 ? schedule.alphasCumprod[prev] : finalAlphaCumprod
        let bt = 1 - at
        var x0: Tensor, eps: Tensor
        switch schedule.prediction {
        case .epsilon:
            x0 = (x - bt.squareRoot() * m) / at.squareRoot()
            eps = m
        case .vPrediction:
            x0 = at.squareRoot() * x - bt.squareRoot() * m
            eps = at.squareRoot() * m + bt.squareRoot() * x
        }
        if clipSample {
            x0 = x0.clamped(-clipRange, clipRange)
        }
        let direction = (1 - ap).squareRoot() * eps
        return ap.squareRoot() * x0 + direction
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        ddpmAddNoise(schedule.alphasCumprod, original, noise, Int(timestep))
    }
}
